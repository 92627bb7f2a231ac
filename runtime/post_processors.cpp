// post_processors.cpp - tokenizer.json post-processors for a single sequence:
// TemplateProcessing (how Llama 2 adds <s>), ByteLevel (offsets only: ids unchanged),
// BertProcessing / RobertaProcessing ([cls] A [sep]) and Sequence.
//
// Special tokens are only added when encode() is asked to (add_special_tokens); the ids come
// from the processor's own table, as in Hugging Face `tokenizers`.
#include <nlohmann/json.hpp>

#include "runtime/tokenizer.h"
#include "runtime/tokenizer_parts.h"

namespace llc::tok {
namespace {

using nlohmann::json;

class IdentityPostProcessor : public PostProcessor {
 public:
  void process(std::vector<int32_t>&, bool) const override {}
};

// The single-sequence template: each item is either the sequence or a run of special ids.
class TemplatePostProcessor : public PostProcessor {
 public:
  struct Item {
    bool is_sequence;
    std::vector<int32_t> ids;  // for a special token
  };
  explicit TemplatePostProcessor(std::vector<Item> items) : items_(std::move(items)) {}
  void process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    std::vector<int32_t> out;
    out.reserve(ids.size() + 4);
    for (const Item& item : items_) {
      if (item.is_sequence) out.insert(out.end(), ids.begin(), ids.end());
      else out.insert(out.end(), item.ids.begin(), item.ids.end());
    }
    ids = std::move(out);
  }

 private:
  std::vector<Item> items_;
};

class SequencePostProcessor : public PostProcessor {
 public:
  explicit SequencePostProcessor(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  void process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    for (const auto& p : parts_) p->process(ids, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

// The ids of special token `name` in TemplateProcessing's "special_tokens" table.
std::vector<int32_t> special_ids(const json& table, const std::string& name, const std::string& where) {
  if (!table.is_object() || !table.contains(name))
    throw TokenizerError(where + ": template names special token \"" + name + "\" missing from \"special_tokens\"");
  const json& entry = table[name];
  if (!entry.contains("ids") || !entry["ids"].is_array())
    throw TokenizerError(where + ".special_tokens[\"" + name + "\"]: missing \"ids\" array");
  std::vector<int32_t> ids;
  for (const json& id : entry["ids"]) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      throw TokenizerError(where + ".special_tokens[\"" + name + "\"].ids: expected non-negative integers, found " +
                           id.dump());
    ids.push_back(id.get<int32_t>());
  }
  return ids;
}

std::unique_ptr<PostProcessor> make_template(const json& j, const std::string& where) {
  if (!j.contains("single") || !j["single"].is_array())
    throw TokenizerError(where + ": missing \"single\" template array");
  const json& table = j.contains("special_tokens") ? j["special_tokens"] : json::object();
  std::vector<TemplatePostProcessor::Item> items;
  const json& single = j["single"];
  for (size_t i = 0; i < single.size(); ++i) {
    const json& piece = single[i];
    const std::string at = where + ".single[" + std::to_string(i) + "]";
    std::string seq_id, special;
    if (piece.is_object() && piece.contains("Sequence") && piece["Sequence"].contains("id")) {
      seq_id = piece["Sequence"]["id"].is_string() ? piece["Sequence"]["id"].get<std::string>() : "?";
    } else if (piece.is_object() && piece.contains("SpecialToken") && piece["SpecialToken"].contains("id") &&
               piece["SpecialToken"]["id"].is_string()) {
      special = piece["SpecialToken"]["id"].get<std::string>();
    } else if (piece.is_string()) {  // the "$A" / "<s>:1" shorthand
      std::string s = piece.get<std::string>();
      size_t colon = s.rfind(':');
      if (colon != std::string::npos && colon + 1 < s.size() &&
          s.find_first_not_of("0123456789", colon + 1) == std::string::npos)
        s.resize(colon);
      if (!s.empty() && s[0] == '$') seq_id = s.size() == 1 ? "A" : s.substr(1);
      else special = s;
    } else {
      throw TokenizerError(at + ": expected {\"Sequence\": ...} or {\"SpecialToken\": ...}, found " + piece.dump());
    }
    if (!seq_id.empty()) {
      if (seq_id != "A")
        throw TokenizerError(at + ": the single-sequence template may only hold sequence A, found \"" + seq_id + "\"");
      items.push_back({true, {}});
    } else {
      items.push_back({false, special_ids(table, special, where)});
    }
  }
  return std::make_unique<TemplatePostProcessor>(std::move(items));
}

// BertProcessing / RobertaProcessing: "cls": [token, id], "sep": [token, id].
std::unique_ptr<PostProcessor> make_cls_sep(const json& j, const std::string& where) {
  auto id_of = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_array() || j[key].size() != 2 || !j[key][1].is_number_integer())
      throw TokenizerError(where + "." + key + ": expected [token, id]");
    return j[key][1].get<int32_t>();
  };
  std::vector<TemplatePostProcessor::Item> items = {{false, {id_of("cls")}}, {true, {}}, {false, {id_of("sep")}}};
  return std::make_unique<TemplatePostProcessor>(std::move(items));
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const json& j, const std::string& where) {
  if (j.is_null()) return std::make_unique<IdentityPostProcessor>();
  const std::string type = stage_type(j, where);
  if (type == "TemplateProcessing") return make_template(j, where);
  if (type == "ByteLevel") return std::make_unique<IdentityPostProcessor>();
  if (type == "BertProcessing" || type == "RobertaProcessing") return make_cls_sep(j, where);
  if (type == "Sequence") {
    if (!j.contains("processors") || !j["processors"].is_array())
      throw TokenizerError(where + ": missing \"processors\" array");
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (size_t i = 0; i < j["processors"].size(); ++i)
      parts.push_back(make_post_processor(j["processors"][i], where + ".processors[" + std::to_string(i) + "]"));
    return std::make_unique<SequencePostProcessor>(std::move(parts));
  }
  throw TokenizerError(where + ".type: unsupported post_processor \"" + type +
                       "\" (supported: TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence)");
}

}  // namespace llc::tok
