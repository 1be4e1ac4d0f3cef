"""The `vsx` command line and end-to-end pipelines; the only package that imports all the others."""
