{
  "targets": [
    {
      "target_name": "pmem_mapping",
      "sources": ["native/pmem-mapping.cc"],
      "cflags_cc": ["-Wall", "-Wextra", "-Werror", "-Wno-cast-function-type"]
    }
  ]
}
