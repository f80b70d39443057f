#!/bin/sh
# Prints compile (--cflags) or link (--libs) flags for the system MPI: MPICH's `mpicc -show`
# or Open MPI's `mpicc --showme:*`. Used by binding.gyp.
case "$1" in
  --cflags)
    mpicc --showme:compile 2>/dev/null || mpicc -show 2>/dev/null | tr ' ' '\n' | grep -E '^-I' | tr '\n' ' ' ;;
  --libs)
    mpicc --showme:link 2>/dev/null || mpicc -show 2>/dev/null | tr ' ' '\n' | grep -E '^-(L|l|Wl)' | tr '\n' ' ' ;;
esac
