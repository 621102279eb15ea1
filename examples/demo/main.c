#include <stdio.h>
#include "demo.h"
int main(void) {
  printf("%s: 2+3=%d 4*5=%d 7^2=%d fib(10)=%d\n", demo_greeting(), demo_add(2, 3), demo_mul(4, 5),
         demo_square(7), demo_fib(10));
  return 0;
}
