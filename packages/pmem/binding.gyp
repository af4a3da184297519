{
  "targets": [
    {
      "target_name": "pmem_mapping",
      "sources": ["native/pmem-mapping.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror"]
    }
  ]
}
