//===- ConfigReader.h - config.json -> ModelConfig, with clear errors ---------===//

#ifndef LLC_COMPILER_CONFIGREADER_H
#define LLC_COMPILER_CONFIGREADER_H

#include "compiler/ModelConfig.h"

#include "llvm/Support/Error.h"

namespace llc {

/// Reads and validates a Hugging Face config.json. Every error names the file,
/// the offending key and its value.
llvm::Expected<ModelConfig> readModelConfig(const std::string &path);

/// Parses the JSON text of a config (`path` only names it in messages).
llvm::Expected<ModelConfig> parseModelConfig(llvm::StringRef text, const std::string &path);

/// Resolves the defaults of `options` against `config` and checks them.
llvm::Expected<ResolvedOptions> resolveOptions(const ModelConfig &config,
                                               const CompileOptions &options);

} // namespace llc

#endif // LLC_COMPILER_CONFIGREADER_H
