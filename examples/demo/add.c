#include "demo.h"
int demo_add(int a, int b) { return a + b; }
