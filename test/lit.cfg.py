# lit configuration for llc-llama: .mlir and .test files under ir/, passes/, frontend/, codegen/.
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "llc-llama"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.llc_obj_root, "test")
config.excludes = ["unit", "gpu", "Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]

config.environment["FILECHECK_OPTS"] = "--enable-var-scope --dump-input=fail"
config.substitutions.append(("%examples", os.path.join(config.llc_src_root, "examples")))

llvm_config.with_system_environment(["HOME", "TMPDIR", "CUDA_HOME", "PATH"])
llvm_config.use_default_substitutions()
tool_dirs = [config.llc_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["llc-opt", "llc-llama"], tool_dirs)
# `not`, `count`, `split-file` and FileCheck come from LLVM 19's tool directory.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.llc_tools_dir, append_path=True)
config.substitutions.append(("%llc_src_root", config.llc_src_root))
