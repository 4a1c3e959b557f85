// The CUDA build of load_tensor_parallel.cpp: the same program, with the ranks' shards loaded
// into GPU memory (runtime/cuda.hpp is active in .cu translation units).
#include "load_tensor_parallel.cpp"
