// The one Catch2 main for the unit-test executable, compiled once and reused.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
