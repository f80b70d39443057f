{
  "targets": [
    {
      "target_name": "roam_native",
      "sources": ["src/addon.cc", "src/mpi.cc"],
      "cflags_cc": ["-O2", "-std=c++17", "<!@(sh mpi-flags.sh --cflags)"],
      "libraries": ["<!@(sh mpi-flags.sh --libs)"]
    }
  ]
}
