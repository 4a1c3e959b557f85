// The multi-process test programs in one executable (one compile of the runtime instead of
// three): `blueprint_mpi_tests PROGRAM ARGS...` runs one of them under mpirun.
#include <cstdio>
#include <cstring>

int sharded_init_main(int argc, char** argv);
int init_json_main(int argc, char** argv);
int checkpoint_roundtrip_main(int argc, char** argv);

int main(int argc, char** argv) {
  struct program {
    const char* name;
    int (*run)(int, char**);
  };
  constexpr program programs[] = {{"sharded_init", sharded_init_main},
                                  {"init_json", init_json_main},
                                  {"checkpoint_roundtrip", checkpoint_roundtrip_main}};
  if (argc >= 2)
    for (const program& p : programs)
      if (std::strcmp(argv[1], p.name) == 0) return p.run(argc - 1, argv + 1);
  std::fprintf(stderr,
               "usage: blueprint_mpi_tests sharded_init|init_json|checkpoint_roundtrip ARGS\n");
  return 2;
}
