// The same compile-time facts, proven by nvcc: declarations, tables and layouts are usable
// from CUDA translation units.
#include "dsl_static.cpp"
