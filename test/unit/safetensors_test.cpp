// safetensors_test.cpp - the safetensors reader and the checkpoint (single / sharded) lookup:
// parsing of valid files, and one test per malformed-file check asserting that the error names
// the file, the tensor and the problem.
#include <gtest/gtest.h>

#include <cstring>

#include "runtime/safetensors.h"
#include "safetensors_writer.h"

using llc::Checkpoint;
using llc::SafetensorsError;
using llc::SafetensorsFile;
using llc_test::ScratchDir;
using llc_test::TestTensor;

namespace {

// Runs `fn`, expects a SafetensorsError whose message contains every one of `parts`.
template <class Fn>
void expect_error(Fn fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown; expected one containing '" << parts.front() << "'";
  } catch (const SafetensorsError& e) {
    std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

// A file holding `header` (verbatim JSON) and `data`; expects opening it to fail with `parts`.
void expect_file_error(const std::string& header, const std::string& data,
                       std::vector<std::string> parts) {
  ScratchDir dir;
  std::string path = dir.file("bad.safetensors");
  llc_test::write_raw_safetensors(path, header, data);
  parts.push_back(path);
  expect_error([&] { SafetensorsFile f(path); }, parts);
}

}  // namespace

TEST(Safetensors, ParsesTensorsShapesDtypesAndData) {
  ScratchDir dir;
  std::string path = dir.file("model.safetensors");
  std::string a = llc_test::pattern_bytes(6, 2, 1);
  std::string b = llc_test::f32_bytes({1.5f, -2.f, 0.25f, 8.f});
  std::string c = llc_test::pattern_bytes(2, 8, 7);
  llc_test::write_safetensors(path,
                              {{"w.bf16", "BF16", {2, 3}, a}, {"v.f32", "F32", {4}, b}, {"ids", "I64", {2}, c}},
                              {{"format", "pt"}});
  SafetensorsFile f(path);
  ASSERT_EQ(f.tensors().size(), 3u);
  // Sorted by name.
  EXPECT_EQ(f.tensors()[0].name, "ids");
  EXPECT_EQ(f.tensors()[1].name, "v.f32");
  EXPECT_EQ(f.tensors()[2].name, "w.bf16");

  const llc::TensorInfo* w = f.find("w.bf16");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, "BF16");
  EXPECT_EQ(w->dtype_bits, 16);
  EXPECT_EQ(w->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w->shape_string(), "[2, 3]");
  EXPECT_EQ(w->numel, 6u);
  EXPECT_EQ(w->nbytes(), 12u);
  EXPECT_EQ(w->begin, 0u);
  EXPECT_EQ(w->file_offset, f.data_start());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(w->data), w->nbytes()), a);
  llc::DType t;
  ASSERT_TRUE(w->runtime_dtype(&t));
  EXPECT_EQ(t, llc::DType::bf16);

  const llc::TensorInfo* v = f.find("v.f32");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->begin, 12u);
  EXPECT_EQ(v->end, 28u);
  float vals[4];
  std::memcpy(vals, v->data, sizeof(vals));
  EXPECT_EQ(vals[0], 1.5f);
  EXPECT_EQ(vals[3], 8.f);
  ASSERT_TRUE(v->runtime_dtype(&t));
  EXPECT_EQ(t, llc::DType::fp32);

  const llc::TensorInfo* ids = f.find("ids");
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(ids->dtype, "I64");
  EXPECT_FALSE(ids->runtime_dtype(&t));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ids->data), ids->nbytes()), c);

  EXPECT_EQ(f.find("absent"), nullptr);
  ASSERT_EQ(f.metadata().size(), 1u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.data_start() % 8, 0u);  // the writer padded the header
  EXPECT_EQ(f.file_size(), f.data_start() + 12 + 16 + 16);
}

TEST(Safetensors, AcceptsF16ScalarsEmptyTensorsAndUnpaddedHeaders) {
  ScratchDir dir;
  std::string path = dir.file("x.safetensors");
  // Unpadded header; a scalar (shape []), an empty tensor and an F16 tensor.
  std::string header =
      R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
      R"("e":{"dtype":"BF16","shape":[0,5],"data_offsets":[4,4]},)"
      R"("h":{"dtype":"F16","shape":[3],"data_offsets":[4,10]}})";
  llc_test::write_raw_safetensors(path, header, std::string(10, '\x01'));
  SafetensorsFile f(path);
  EXPECT_EQ(f.data_start(), 8 + header.size());
  EXPECT_EQ(f.find("s")->numel, 1u);
  EXPECT_TRUE(f.find("s")->shape.empty());
  EXPECT_EQ(f.find("e")->numel, 0u);
  EXPECT_EQ(f.find("e")->nbytes(), 0u);
  llc::DType t;
  ASSERT_TRUE(f.find("h")->runtime_dtype(&t));
  EXPECT_EQ(t, llc::DType::fp16);
  EXPECT_TRUE(f.metadata().empty());
}

TEST(Safetensors, AcceptsEverySpecDtypeIncludingSubByteOnes) {
  ScratchDir dir;
  std::string path = dir.file("x.safetensors");
  // F4: 4 bits, so [2, 4] is 4 bytes; F6_E2M3: 6 bits, [4] is 3 bytes; F8_E4M3 [3] is 3 bytes.
  std::string header =
      R"({"a":{"dtype":"F4","shape":[2,4],"data_offsets":[0,4]},)"
      R"("b":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[4,7]},)"
      R"("c":{"dtype":"F8_E4M3","shape":[3],"data_offsets":[7,10]},)"
      R"("d":{"dtype":"U64","shape":[1],"data_offsets":[10,18]}})";
  llc_test::write_raw_safetensors(path, header, std::string(18, '\0'));
  SafetensorsFile f(path);
  EXPECT_EQ(f.find("a")->dtype_bits, 4);
  EXPECT_EQ(f.find("b")->dtype_bits, 6);
  EXPECT_EQ(f.find("d")->dtype_bits, 64);
}

// ---- malformed files: one check each ------------------------------------------------------

TEST(SafetensorsErrors, FileShorterThan8Bytes) {
  ScratchDir dir;
  std::string path = dir.file("short.safetensors");
  llc_test::write_bytes(path, "abcde");
  expect_error([&] { SafetensorsFile f(path); }, {path, "5 bytes", "shorter than the 8-byte"});
  llc_test::write_bytes(path, "");
  expect_error([&] { SafetensorsFile f(path); }, {path, "0 bytes"});
}

TEST(SafetensorsErrors, MissingFileAndDirectory) {
  ScratchDir dir;
  std::string path = dir.file("nope.safetensors");
  expect_error([&] { SafetensorsFile f(path); }, {path, "cannot open", "No such file"});
  expect_error([&] { SafetensorsFile f(dir.path()); }, {dir.path(), "not a regular file"});
}

TEST(SafetensorsErrors, HeaderLengthPastEndOfFile) {
  ScratchDir dir;
  std::string path = dir.file("x.safetensors");
  llc_test::write_raw_safetensors(path, "{}", "", /*declared_len=*/1000);
  expect_error([&] { SafetensorsFile f(path); }, {path, "header length 1000", "past the end of the file"});
}

TEST(SafetensorsErrors, AbsurdHeaderLength) {
  ScratchDir dir;
  std::string path = dir.file("x.safetensors");
  llc_test::write_raw_safetensors(path, "{}", "", /*declared_len=*/(uint64_t(100) << 20) + 1);
  expect_error([&] { SafetensorsFile f(path); }, {path, "absurd", "100 MB"});
  // A text file read as safetensors: its first 8 bytes make a huge number.
  llc_test::write_bytes(path, "this is not a safetensors file at all");
  expect_error([&] { SafetensorsFile f(path); }, {path, "absurd"});
}

TEST(SafetensorsErrors, HeaderNotJson) {
  expect_file_error("{\"a\": ", "", {"header is not valid JSON"});
  expect_file_error("hello", "", {"header is not valid JSON"});
}

TEST(SafetensorsErrors, HeaderNotAnObject) {
  expect_file_error("[1, 2]", "", {"header is an array, not a JSON object"});
  expect_file_error("42", "", {"header is an integer, not a JSON object"});
}

TEST(SafetensorsErrors, DuplicateTensorName) {
  expect_file_error(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                    R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                    "xy", {"header names 'a' twice"});
}

TEST(SafetensorsErrors, EntryNotAnObject) {
  expect_file_error(R"({"w": [1, 2]})", "", {"tensor 'w'", "entry is an array, not an object"});
}

TEST(SafetensorsErrors, MissingKeys) {
  expect_file_error(R"({"w":{"shape":[1],"data_offsets":[0,1]}})", "x", {"tensor 'w'", "missing \"dtype\""});
  expect_file_error(R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", "x", {"tensor 'w'", "missing \"shape\""});
  expect_file_error(R"({"w":{"dtype":"U8","shape":[1]}})", "x", {"tensor 'w'", "missing \"data_offsets\""});
}

TEST(SafetensorsErrors, WrongJsonTypes) {
  expect_file_error(R"({"w":{"dtype":16,"shape":[1],"data_offsets":[0,1]}})", "x",
                    {"tensor 'w'", "\"dtype\" is an integer, not a string"});
  expect_file_error(R"({"w":{"dtype":"U8","shape":"1","data_offsets":[0,1]}})", "x",
                    {"tensor 'w'", "\"shape\" is a string, not an array"});
  expect_file_error(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":{"a":0}}})", "x",
                    {"tensor 'w'", "\"data_offsets\" is {\"a\":0}"});
  expect_file_error(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", "x",
                    {"tensor 'w'", "not [begin, end]"});
  expect_file_error(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})", "x",
                    {"tensor 'w'", "not [begin, end] with two non-negative integers"});
  expect_file_error(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1.5]}})", "x",
                    {"tensor 'w'", "not [begin, end]"});
}

TEST(SafetensorsErrors, UnknownDtype) {
  expect_file_error(R"({"w":{"dtype":"Q4_K","shape":[1],"data_offsets":[0,1]}})", "x",
                    {"tensor 'w'", "unknown dtype \"Q4_K\""});
  expect_file_error(R"({"w":{"dtype":"bf16","shape":[1],"data_offsets":[0,2]}})", "xx",
                    {"tensor 'w'", "unknown dtype \"bf16\""});  // names are case-sensitive
}

TEST(SafetensorsErrors, BadShapeDimensions) {
  expect_file_error(R"({"w":{"dtype":"U8","shape":[2,-3],"data_offsets":[0,1]}})", "x",
                    {"tensor 'w'", "shape dimension 1 is -3", "non-negative integer"});
  expect_file_error(R"({"w":{"dtype":"U8","shape":[2.5],"data_offsets":[0,1]}})", "x",
                    {"tensor 'w'", "shape dimension 0 is 2.5"});
  expect_file_error(R"({"w":{"dtype":"U8","shape":["4"],"data_offsets":[0,1]}})", "x",
                    {"tensor 'w'", "shape dimension 0 is \"4\""});
  expect_file_error(
      R"({"w":{"dtype":"U8","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,1]}})", "x",
      {"tensor 'w'", "more elements than fit in 64 bits"});
}

TEST(SafetensorsErrors, BeginAfterEnd) {
  expect_file_error(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[3,2]}})", "xxxx",
                    {"tensor 'w'", "[3, 2] has begin > end"});
}

TEST(SafetensorsErrors, EndBeyondData) {
  expect_file_error(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(12, 'x'),
                    {"tensor 'w'", "end 16 is beyond the data section (12 bytes)"});
}

TEST(SafetensorsErrors, ByteSizeNotShapeTimesDtype) {
  expect_file_error(R"({"w":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,8]}})", std::string(8, 'x'),
                    {"tensor 'w'", "holds 8 bytes", "shape [2, 3] of BF16 needs 12"});
  expect_file_error(R"({"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", "xx",
                    {"tensor 'w'", "not a whole number of bytes"});
}

TEST(SafetensorsErrors, OverlappingTensors) {
  expect_file_error(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                    std::string(16, 'x'), {"tensors 'a' [0, 16) and 'b' [8, 16) overlap"});
  // Adjacent tensors and an empty one inside another's range do not overlap.
  ScratchDir dir;
  std::string path = dir.file("ok.safetensors");
  llc_test::write_raw_safetensors(path,
                                  R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                  R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                                  std::string(16, 'x'));
  EXPECT_NO_THROW(SafetensorsFile f(path));
}

TEST(SafetensorsErrors, BadMetadata) {
  expect_file_error(R"({"__metadata__": [1]})", "", {"__metadata__ is an array, not an object"});
  expect_file_error(R"({"__metadata__": {"format": "pt", "step": 3}})", "",
                    {"__metadata__ key 'step' holds an integer", "must be strings"});
}

// ---- checkpoints ------------------------------------------------------------------------------

TEST(Checkpoint, SingleFile) {
  ScratchDir dir;
  llc_test::write_safetensors(dir.file("model.safetensors"), {{"a", "F32", {1}, llc_test::f32_bytes({1.f})}});
  Checkpoint ck(dir.path());
  EXPECT_FALSE(ck.sharded());
  ASSERT_EQ(ck.files().size(), 1u);
  Checkpoint::Entry e = ck.find("a");
  ASSERT_NE(e.tensor, nullptr);
  EXPECT_EQ(e.file->path(), dir.file("model.safetensors"));
  EXPECT_EQ(ck.find("b").tensor, nullptr);
  EXPECT_EQ(ck.looked_in("b"), "model.safetensors");
}

TEST(Checkpoint, ShardedIndex) {
  ScratchDir dir;
  llc_test::write_safetensors(dir.file("model-00001-of-00002.safetensors"),
                              {{"a", "F32", {1}, llc_test::f32_bytes({1.f})},
                               {"unlisted", "F32", {1}, llc_test::f32_bytes({3.f})}});
  llc_test::write_safetensors(dir.file("model-00002-of-00002.safetensors"),
                              {{"b", "BF16", {2}, llc_test::u16_bytes({0x3f80, 0x4000})}});
  llc_test::write_bytes(dir.file("model.safetensors.index.json"),
                        R"({"metadata": {"total_size": 10}, "weight_map": {)"
                        R"("a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}})");
  // A stray single file beside the index is ignored: the index wins.
  llc_test::write_safetensors(dir.file("model.safetensors"), {{"stray", "F32", {1}, llc_test::f32_bytes({0.f})}});
  Checkpoint ck(dir.path());
  EXPECT_TRUE(ck.sharded());
  EXPECT_EQ(ck.files().size(), 2u);
  Checkpoint::Entry a = ck.find("a"), b = ck.find("b");
  ASSERT_NE(a.tensor, nullptr);
  ASSERT_NE(b.tensor, nullptr);
  EXPECT_EQ(a.file->path(), dir.file("model-00001-of-00002.safetensors"));
  EXPECT_EQ(b.file->path(), dir.file("model-00002-of-00002.safetensors"));
  EXPECT_EQ(b.tensor->dtype, "BF16");
  // Tensors are looked up through the index only.
  EXPECT_EQ(ck.find("unlisted").tensor, nullptr);
  EXPECT_EQ(ck.find("stray").tensor, nullptr);
  EXPECT_EQ(ck.looked_in("unlisted"), "model.safetensors.index.json, whose weight_map does not list it");
}

TEST(CheckpointErrors, MissingShardFile) {
  ScratchDir dir;
  llc_test::write_bytes(dir.file("model.safetensors.index.json"),
                        R"({"weight_map": {"a": "model-00001-of-00002.safetensors"}})");
  expect_error([&] { Checkpoint ck(dir.path()); },
               {dir.file("model.safetensors.index.json"), "'a'", "model-00001-of-00002.safetensors",
                "missing from"});
}

TEST(CheckpointErrors, ShardLacksTensorTheIndexNames) {
  ScratchDir dir;
  llc_test::write_safetensors(dir.file("s1.safetensors"), {{"a", "F32", {1}, llc_test::f32_bytes({1.f})}});
  llc_test::write_bytes(dir.file("model.safetensors.index.json"),
                        R"({"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors"}})");
  expect_error([&] { Checkpoint ck(dir.path()); },
               {"model.safetensors.index.json", "'b'", "shard 's1.safetensors'", "has no tensor 'b'"});
}

TEST(CheckpointErrors, MalformedIndex) {
  ScratchDir dir;
  std::string index = dir.file("model.safetensors.index.json");
  llc_test::write_bytes(index, "{not json");
  expect_error([&] { Checkpoint ck(dir.path()); }, {index, "not valid JSON"});
  llc_test::write_bytes(index, R"({"metadata": {}})");
  expect_error([&] { Checkpoint ck(dir.path()); }, {index, "missing \"weight_map\""});
  llc_test::write_bytes(index, R"({"weight_map": ["a"]})");
  expect_error([&] { Checkpoint ck(dir.path()); }, {index, "\"weight_map\" is an array, not an object"});
  llc_test::write_bytes(index, R"({"weight_map": {"a": 1}})");
  expect_error([&] { Checkpoint ck(dir.path()); }, {index, "entry 'a' is an integer", "shard file"});
  llc_test::write_bytes(index, R"({"weight_map": {"a": "/etc/passwd"}})");
  expect_error([&] { Checkpoint ck(dir.path()); }, {index, "relative to the checkpoint directory"});
}

TEST(CheckpointErrors, MalformedShardNamesItsFile) {
  ScratchDir dir;
  llc_test::write_bytes(dir.file("s1.safetensors"), "tiny");
  llc_test::write_bytes(dir.file("model.safetensors.index.json"), R"({"weight_map": {"a": "s1.safetensors"}})");
  expect_error([&] { Checkpoint ck(dir.path()); }, {dir.file("s1.safetensors"), "shorter than the 8-byte"});
}

TEST(CheckpointErrors, NoCheckpointFiles) {
  ScratchDir dir;
  expect_error([&] { Checkpoint ck(dir.path()); },
               {"no model.safetensors or model.safetensors.index.json in", dir.path()});
  expect_error([&] { Checkpoint ck(dir.file("missing")); }, {dir.file("missing"), "does not exist"});
  llc_test::write_bytes(dir.file("plain"), "x");
  expect_error([&] { Checkpoint ck(dir.file("plain")); }, {dir.file("plain"), "not a directory"});
}
