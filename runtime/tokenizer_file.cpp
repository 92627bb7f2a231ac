// tokenizer_file.cpp - Tokenizer::from_file: reads and checks a tokenizer.json, then builds the
// pipeline. Every failure is a TokenizerError naming the file and what is wrong with it:
// unreadable, not JSON (with the parser's position), not an object, an unknown format
// version, or a model / stage of an unsupported type.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/hf_tokenizer.h"
#include "runtime/tokenizer.h"
#include "runtime/tokenizer_parts.h"

namespace llc {

namespace tok {

std::string stage_type(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw TokenizerError(where + ": expected an object or null, found " + j.dump());
  if (!j.contains("type") || !j["type"].is_string()) throw TokenizerError(where + ": missing \"type\"");
  return j["type"].get<std::string>();
}

}  // namespace tok

std::unique_ptr<Tokenizer> Tokenizer::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TokenizerError(path + ": cannot open tokenizer file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();

  nlohmann::json root;
  try {
    root = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw TokenizerError(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!root.is_object()) throw TokenizerError(path + ": expected a JSON object at the top level");
  if (root.contains("version") && (!root["version"].is_string() || root["version"].get<std::string>() != "1.0"))
    throw TokenizerError(path + ": unknown tokenizer.json version " + root["version"].dump() + " (expected \"1.0\")");
  if (root.contains("truncation") && !root["truncation"].is_null())
    throw TokenizerError(path + ": \"truncation\" is set; truncating encodings is unsupported (it must be null)");
  if (root.contains("padding") && !root["padding"].is_null()) {
    const auto& padding = root["padding"];
    if (padding.is_object() && padding.contains("strategy") && padding["strategy"].is_object() &&
        padding["strategy"].contains("Fixed"))
      throw TokenizerError(path + ": \"padding\" to a fixed length is unsupported (it would change the ids)");
  }
  if (!root.contains("model")) throw TokenizerError(path + ": missing \"model\"");
  const nlohmann::json& model = root["model"];
  // Old files may leave out the model's type; HF then recognises BPE by its merges.
  const std::string type = model.is_object() && !model.contains("type") && model.contains("merges")
                               ? std::string("BPE")
                               : tok::stage_type(model, path + ": model");
  if (type != "BPE")
    throw TokenizerError(path + ": model.type \"" + type + "\" is unsupported (only \"BPE\" is: byte-level BPE as in "
                         "Llama 3 / Qwen2, or SentencePiece-style BPE as in Llama 2 / Mistral)");
  try {
    return std::make_unique<tok::HfTokenizer>(root, path);
  } catch (const nlohmann::json::exception& e) {  // a value of an unexpected JSON type somewhere
    throw TokenizerError(path + ": malformed tokenizer file (" + std::string(e.what()) + ")");
  }
}

}  // namespace llc
