#!/bin/sh
# Prints compile (--cflags) or link (--libs) flags for the system MPI: MPICH's `mpicc -show`
# or Open MPI's `mpicc --showme:*`; --has prints 1 when a system MPI is there. Used by binding.gyp.
case "$1" in
  --has)
    if mpicc -show >/dev/null 2>&1 || mpicc --showme >/dev/null 2>&1; then echo 1; else echo 0; fi ;;
  --cflags)
    mpicc --showme:compile 2>/dev/null || mpicc -show 2>/dev/null | tr ' ' '\n' | grep -E '^-I' | tr '\n' ' ' ;;
  --libs)
    mpicc --showme:link 2>/dev/null || mpicc -show 2>/dev/null | tr ' ' '\n' | grep -E '^-(L|l|Wl)' | tr '\n' ' ' ;;
esac
