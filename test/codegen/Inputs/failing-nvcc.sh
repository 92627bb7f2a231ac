#!/bin/sh
# Stands in for an nvcc that rejects the program, to test how llc-llama reports it.
echo "model.cu(12): error: identifier \"no_such_kernel\" is undefined" >&2
exit 2
