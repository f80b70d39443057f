{
  "targets": [
    {
      "target_name": "roam_shm",
      "sources": ["src/shm.cc"],
      "cflags_cc": ["-std=c++17"],
      "libraries": ["-lrt"]
    }
  ]
}
