/* The demo project's one header: every source includes it. */
#ifndef DEMO_H
#define DEMO_H
int demo_add(int a, int b);
int demo_mul(int a, int b);
int demo_square(int a);
const char *demo_greeting(void);
int demo_fib(int n);
#endif
