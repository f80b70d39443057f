/* Shared by the self-checking MPI programs here: CHECK(c) ends the job naming the rank, line and condition. */
#ifndef ROAM_MPI_CHECK_H
#define ROAM_MPI_CHECK_H
#include <stdio.h>
#include <stdlib.h>

static int rank, size;
#define CHECK(c)                                                                  \
  do {                                                                            \
    if (!(c)) {                                                                   \
      fprintf(stderr, "rank %d: check failed line %d: %s\n", rank, __LINE__, #c); \
      exit(1);                                                                    \
    }                                                                             \
  } while (0)
#endif
