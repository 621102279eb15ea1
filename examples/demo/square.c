#include "demo.h"
int demo_square(int a) { return demo_mul(a, a); }
