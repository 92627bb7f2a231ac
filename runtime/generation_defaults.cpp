// generation_defaults.cpp - what a model directory's tokenizer_config.json and
// generation_config.json say about BOS and EOS (rules in tokenizer.h). A missing file or key
// falls back; a malformed file or a key of the wrong type is a TokenizerError naming both.
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/tokenizer.h"

namespace llc {
namespace {

using nlohmann::json;

std::optional<json> read_optional_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    json j = json::parse(buffer.str());
    if (!j.is_object()) throw TokenizerError(path + ": expected a JSON object at the top level");
    return j;
  } catch (const json::parse_error& e) {
    throw TokenizerError(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
}

// A token named by tokenizer_config.json: a string, an AddedToken object {"content": ...}, or null.
std::optional<std::string> token_content(const json& config, const char* key, const std::string& path) {
  if (!config.contains(key) || config[key].is_null()) return std::nullopt;
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  throw TokenizerError(path + ": \"" + key + "\" must be a string or an object with \"content\", found " + v.dump());
}

int32_t token_id(const Tokenizer& tokenizer, const std::string& content, const char* key, const std::string& path) {
  int32_t id = tokenizer.token_to_id(content);
  if (id < 0) throw TokenizerError(path + ": \"" + key + "\" is \"" + content + "\", which the tokenizer does not know");
  return id;
}

int32_t id_value(const json& v, const char* key, const std::string& path) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
    throw TokenizerError(path + ": \"" + key + "\" must hold non-negative integer ids, found " + v.dump());
  return v.get<int32_t>();
}

}  // namespace

GenerationDefaults read_generation_defaults(const std::string& model_dir, const Tokenizer* tokenizer,
                                            int32_t compiled_bos, const std::vector<int32_t>& compiled_eos) {
  const std::string tc_path = model_dir + "/tokenizer_config.json";
  const std::string gc_path = model_dir + "/generation_config.json";
  const std::optional<json> tc = read_optional_json(tc_path);
  const std::optional<json> gc = read_optional_json(gc_path);
  GenerationDefaults d;

  // BOS: the tokenizer's own token first (it is what the tokenizer adds), then the configs.
  d.bos_token_id = -1;
  if (tc && tokenizer) {
    if (auto bos = token_content(*tc, "bos_token", tc_path)) d.bos_token_id = token_id(*tokenizer, *bos, "bos_token", tc_path);
  }
  if (d.bos_token_id < 0 && gc && gc->contains("bos_token_id") && !(*gc)["bos_token_id"].is_null())
    d.bos_token_id = id_value((*gc)["bos_token_id"], "bos_token_id", gc_path);
  if (d.bos_token_id < 0) d.bos_token_id = compiled_bos;

  // EOS: what transformers' generate() stops on: generation_config.json, else config.json.
  if (gc && gc->contains("eos_token_id") && !(*gc)["eos_token_id"].is_null()) {
    const json& eos = (*gc)["eos_token_id"];
    if (eos.is_array()) {
      for (const json& id : eos) d.eos_token_ids.push_back(id_value(id, "eos_token_id", gc_path));
    } else {
      d.eos_token_ids.push_back(id_value(eos, "eos_token_id", gc_path));
    }
  }
  if (d.eos_token_ids.empty()) d.eos_token_ids = compiled_eos;
  if (d.eos_token_ids.empty() && tc && tokenizer) {
    if (auto eos = token_content(*tc, "eos_token", tc_path))
      d.eos_token_ids.push_back(token_id(*tokenizer, *eos, "eos_token", tc_path));
  }

  // BOS on prompts.
  bool post_processor_adds = false;
  if (tokenizer && d.bos_token_id >= 0) {
    std::vector<int32_t> empty = tokenizer->encode("", true);
    post_processor_adds = !empty.empty() && empty.front() == d.bos_token_id;
  }
  bool want = true;
  if (tc && tc->contains("add_bos_token") && !(*tc)["add_bos_token"].is_null()) {
    if (!(*tc)["add_bos_token"].is_boolean())
      throw TokenizerError(tc_path + ": \"add_bos_token\" must be true or false, found " + (*tc)["add_bos_token"].dump());
    want = (*tc)["add_bos_token"].get<bool>();
  } else if (tokenizer) {
    std::string cls = tc && tc->contains("tokenizer_class") && (*tc)["tokenizer_class"].is_string()
                          ? (*tc)["tokenizer_class"].get<std::string>()
                          : std::string();
    bool llama_class = cls == "LlamaTokenizer" || cls == "LlamaTokenizerFast" || cls == "CodeLlamaTokenizer" ||
                       cls == "CodeLlamaTokenizerFast";
    want = llama_class || post_processor_adds;
  }
  d.add_bos = want && !post_processor_adds && d.bos_token_id >= 0;
  return d;
}

std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const GenerationDefaults& defaults,
                                   std::string_view text) {
  std::vector<int32_t> ids = tokenizer.encode(text, true);
  if (defaults.add_bos && defaults.bos_token_id >= 0) ids.insert(ids.begin(), defaults.bos_token_id);
  return ids;
}

}  // namespace llc
