#include "demo.h"
int demo_mul(int a, int b) {
  int r = 0;
  for (int i = 0; i < b; i++) r = demo_add(r, a);
  return r;
}
