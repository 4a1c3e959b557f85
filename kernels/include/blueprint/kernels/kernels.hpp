// Umbrella header for the element math: include this from kernels and from the CPU loop.
#pragma once

#include "cast.hpp"
#include "config.hpp"
#include "distributions.hpp"
#include "dtype.hpp"
#include "fingerprint.hpp"
#include "init.hpp"
#include "math.hpp"
#include "philox.hpp"
