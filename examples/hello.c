#include <stdio.h>

int main(void) {
  printf("hello from a cached compile\n");
  return 0;
}
