#include "demo.h"
int demo_fib(int n) { return n < 2 ? n : demo_add(demo_fib(n - 1), demo_fib(n - 2)); }
