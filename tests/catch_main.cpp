// Catch2's own signal handlers would also run in the processes a pipeline forks and report their
// deliberate crashes as test failures; the tests check those crashes themselves.
#define CATCH_CONFIG_NO_POSIX_SIGNALS
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
