{
  "variables": { "with_mpi": "<!(sh mpi-flags.sh --has)", "with_ucx": "<!(sh ucx-flags.sh --has)" },
  "targets": [
    {
      "target_name": "roam_shm",
      "sources": ["src/shm.cc"],
      "cflags_cc": ["-std=c++17"],
      "libraries": ["-lrt"]
    },
    {
      "target_name": "roam_netio",
      "sources": ["src/netio.cc"],
      "cflags_cc": ["-O2", "-std=c++17"]
    }
  ],
  "conditions": [
    ["with_mpi==1", {
      "targets": [
        {
          "target_name": "roam_native",
          "sources": ["src/addon.cc", "src/mpi.cc", "src/mpi-win.cc"],
          "cflags_cc": ["-O2", "-std=c++17", "<!@(sh mpi-flags.sh --cflags)"],
          "libraries": ["<!@(sh mpi-flags.sh --libs)"]
        }
      ]
    }],
    ["with_ucx==1", {
      "targets": [
        {
          "target_name": "roam_ucx",
          "sources": ["src/ucx.cc"],
          "cflags_cc": ["-O2", "-std=c++17", "<!@(sh ucx-flags.sh --cflags)"],
          "libraries": ["<!@(sh ucx-flags.sh --libs)"]
        }
      ]
    }]
  ]
}
