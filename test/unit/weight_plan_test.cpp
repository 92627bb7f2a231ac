// weight_plan_test.cpp - the CPU half of weight loading: the device layout of merged and tied
// weights, binding program weights to checkpoint tensors, and every load error (missing tensor,
// wrong shape, wrong dtype), also through load_weights(), which checks before touching the GPU;
// column scales (folded norm weights): their links, their effect on sharing, and every error.
#include <gtest/gtest.h>

#include <deque>

#include "runtime/weight_plan.h"
#include "runtime/weights.h"
#include "safetensors_writer.h"

using llc::DType;
using llc::WeightsError;
using llc_test::ScratchDir;
using llc_test::TestTensor;

namespace {

// A program weight table built in a test; pointers stay valid for the object's life.
class TestModel {
 public:
  void add(int rank, int64_t cols, std::vector<std::pair<std::string, int64_t>> sources) {
    std::vector<llc::WeightSource> srcs;
    int64_t rows = 0;
    for (auto& [name, r] : sources) {
      names_.push_back(name);
      srcs.push_back({names_.back().c_str(), r});
      rows += r;
    }
    sources_.push_back(std::move(srcs));
    weights_.push_back({rank, rows, cols, 0, nullptr});
  }
  llc::WeightSpec& last() { return weights_.back(); }
  const llc::ModelSpec& spec(DType dtype) {
    for (size_t i = 0; i < weights_.size(); ++i) {
      weights_[i].n_sources = static_cast<int>(sources_[i].size());
      weights_[i].sources = sources_[i].data();
    }
    spec_ = {};
    spec_.dtype = dtype;
    spec_.n_weights = static_cast<int>(weights_.size());
    spec_.weights = weights_.data();
    return spec_;
  }
  llc::ModelProgram program(DType dtype) {
    llc::ModelProgram p{};
    p.spec = &spec(dtype);
    return p;
  }

 private:
  std::deque<std::string> names_;
  std::deque<std::vector<llc::WeightSource>> sources_;
  std::vector<llc::WeightSpec> weights_;
  llc::ModelSpec spec_{};
};

// embed [64, 16], merged qkv [16 + 8 + 8, 16], norm [16], lm_head tied to embed.
void add_small_model(TestModel& m) {
  m.add(2, 16, {{"model.embed_tokens.weight", 64}});
  m.add(2, 16, {{"model.layers.0.self_attn.q_proj.weight", 16},
                {"model.layers.0.self_attn.k_proj.weight", 8},
                {"model.layers.0.self_attn.v_proj.weight", 8}});
  m.add(1, 1, {{"model.norm.weight", 16}});
  m.add(2, 16, {{"model.embed_tokens.weight", 64}});
}

std::vector<TestTensor> small_model_tensors() {
  return {{"model.embed_tokens.weight", "BF16", {64, 16}, llc_test::pattern_bytes(64 * 16, 2, 1)},
          {"model.layers.0.self_attn.q_proj.weight", "F16", {16, 16}, llc_test::pattern_bytes(256, 2, 2)},
          {"model.layers.0.self_attn.k_proj.weight", "F32", {8, 16}, llc_test::pattern_bytes(128, 4, 3)},
          {"model.layers.0.self_attn.v_proj.weight", "BF16", {8, 16}, llc_test::pattern_bytes(128, 2, 4)},
          {"model.norm.weight", "F32", {16}, llc_test::pattern_bytes(16, 4, 5)},
          // Present in checkpoints, not named by the program: ignored.
          {"lm_head.weight", "BF16", {64, 16}, llc_test::pattern_bytes(64 * 16, 2, 6)},
          {"model.layers.0.self_attn.rotary_emb.inv_freq", "I64", {4}, llc_test::pattern_bytes(4, 8, 7)}};
}

template <class Fn>
std::string weights_error_of(Fn fn) {
  try {
    fn();
  } catch (const WeightsError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<wrong exception type> ") + e.what();
  }
  return "<no exception>";
}

size_t round_up(size_t x) { return (x + 255) / 256 * 256; }

}  // namespace

TEST(WeightPlan, LaysOutMergedAndTiedWeights) {
  TestModel m;
  add_small_model(m);
  llc::WeightPlan plan = llc::plan_weights(m.spec(DType::bf16));
  ASSERT_EQ(plan.allocations.size(), 3u);  // lm_head shares the embedding
  EXPECT_EQ(plan.allocation_of, (std::vector<int>{0, 1, 2, 0}));

  const auto& embed = plan.allocations[0];
  EXPECT_EQ(embed.offset, 0u);
  EXPECT_EQ(embed.bytes, 64u * 16 * 2);
  const auto& qkv = plan.allocations[1];
  EXPECT_EQ(qkv.offset, round_up(64 * 16 * 2));
  EXPECT_EQ(qkv.bytes, 32u * 16 * 2);
  ASSERT_EQ(qkv.sources.size(), 3u);
  EXPECT_EQ(qkv.sources[0].dst_offset, 0u);
  EXPECT_EQ(qkv.sources[1].dst_offset, 16u * 16 * 2);        // after q's 16 rows
  EXPECT_EQ(qkv.sources[2].dst_offset, (16u + 8) * 16 * 2);  // after q and k
  EXPECT_EQ(qkv.sources[1].n_elems, 8 * 16);
  const auto& norm = plan.allocations[2];
  EXPECT_EQ(norm.rank, 1);
  EXPECT_EQ(norm.offset, qkv.offset + round_up(32 * 16 * 2));
  EXPECT_EQ(norm.bytes, 16u * 2);
  EXPECT_EQ(plan.block_bytes, norm.offset + 256);
  for (const auto& a : plan.allocations) EXPECT_EQ(a.offset % llc::kWeightAlignment, 0u);
}

TEST(WeightPlan, SizesFollowTheCompiledDtype) {
  TestModel m;
  add_small_model(m);
  llc::WeightPlan plan = llc::plan_weights(m.spec(DType::fp32));
  EXPECT_EQ(plan.allocations[1].bytes, 32u * 16 * 4);
  EXPECT_EQ(plan.allocations[1].sources[2].dst_offset, (16u + 8) * 16 * 4);
}

TEST(WeightPlan, SameSourceDifferentShapeIsNotShared) {
  TestModel m;
  m.add(2, 16, {{"a", 4}});
  m.add(2, 8, {{"a", 4}});
  llc::WeightPlan plan = llc::plan_weights(m.spec(DType::bf16));
  EXPECT_EQ(plan.allocations.size(), 2u);
}

TEST(WeightPlan, RejectsInconsistentSpecs) {
  {
    TestModel m;
    m.add(2, 16, {{"a", 4}, {"b", 4}});
    m.last().rows = 9;
    std::string msg = weights_error_of([&] { llc::plan_weights(m.spec(DType::bf16)); });
    EXPECT_NE(msg.find("program weight 0 (a + b): sources have 8 rows in all, the weight 9"),
              std::string::npos) << msg;
  }
  {
    TestModel m;
    m.add(3, 16, {{"a", 4}});
    std::string msg = weights_error_of([&] { llc::plan_weights(m.spec(DType::bf16)); });
    EXPECT_NE(msg.find("rank 3, expected 1 or 2"), std::string::npos) << msg;
  }
  {
    TestModel m;
    m.add(1, 2, {{"a", 4}});
    std::string msg = weights_error_of([&] { llc::plan_weights(m.spec(DType::bf16)); });
    EXPECT_NE(msg.find("rank 1 but cols 2"), std::string::npos) << msg;
  }
  {
    TestModel m;
    m.add(2, 16, {});
    std::string msg = weights_error_of([&] { llc::plan_weights(m.spec(DType::bf16)); });
    EXPECT_NE(msg.find("program weight 0 has no sources"), std::string::npos) << msg;
  }
}

// norm0 [16] scales qkv; model.norm [16], later in the table, scales a copy of the embedding.
TEST(WeightPlan, LinksColumnScalesAndKeepsScaledCopiesApart) {
  TestModel m;
  m.add(1, 1, {{"model.layers.0.input_layernorm.weight", 16}});       // 0
  m.add(2, 16, {{"model.layers.0.self_attn.q_proj.weight", 16},
                {"model.layers.0.self_attn.k_proj.weight", 8}});      // 1: scaled by 0
  m.last().column_scale = 0;
  m.add(2, 16, {{"model.embed_tokens.weight", 64}});                   // 2
  m.add(2, 16, {{"model.embed_tokens.weight", 64}});                   // 3: scaled by 4
  m.last().column_scale = 4;
  m.add(1, 1, {{"model.norm.weight", 16}});                            // 4
  m.add(2, 16, {{"model.embed_tokens.weight", 64}});                   // 5: tied to 2
  m.add(2, 16, {{"model.embed_tokens.weight", 64}});                   // 6: tied to 3 (same scale)
  m.last().column_scale = 4;
  llc::WeightPlan plan = llc::plan_weights(m.spec(DType::bf16));
  ASSERT_EQ(plan.allocations.size(), 5u);
  EXPECT_EQ(plan.allocation_of, (std::vector<int>{0, 1, 2, 3, 4, 2, 3}));
  EXPECT_EQ(plan.allocations[0].scale_allocation, -1);
  EXPECT_EQ(plan.allocations[1].scale_allocation, 0);
  EXPECT_EQ(plan.allocations[2].scale_allocation, -1);
  EXPECT_EQ(plan.allocations[3].scale_allocation, 4);
  EXPECT_EQ(plan.allocations[4].scale_allocation, -1);
  EXPECT_NE(plan.allocations[3].offset, plan.allocations[2].offset);
}

TEST(WeightPlanErrors, RejectsBadColumnScales) {
  const std::string suffix = " (the compiled program's weight table is inconsistent)";
  auto plan_error = [](TestModel& m) {
    return weights_error_of([&] { llc::plan_weights(m.spec(DType::bf16)); });
  };
  {
    TestModel m;
    m.add(2, 16, {{"w", 4}});
    m.last().column_scale = 2;
    m.add(1, 1, {{"s", 16}});
    EXPECT_EQ(plan_error(m),
              "program weight 0 (w): column_scale 2 is out of range (the program has 2 weights)" + suffix);
  }
  {
    TestModel m;
    m.add(1, 1, {{"s", 16}});
    m.add(2, 16, {{"w", 4}});
    m.last().column_scale = 1;
    EXPECT_EQ(plan_error(m), "program weight 1 (w): column_scale names the weight itself" + suffix);
  }
  {
    TestModel m;
    m.add(1, 1, {{"b", 16}});
    m.last().column_scale = 1;
    m.add(1, 1, {{"s", 16}});
    EXPECT_EQ(plan_error(m), "program weight 0 (b): has a column scale (weight 1) but rank 1; only "
                             "rank-2 weights can be column-scaled" + suffix);
  }
  {
    TestModel m;
    m.add(2, 16, {{"w", 4}});
    m.last().column_scale = 1;
    m.add(2, 16, {{"v", 16}});
    EXPECT_EQ(plan_error(m), "program weight 0 (w): its column scale, weight 1 (v), has rank 2, expected 1" +
                                 suffix);
  }
  {
    TestModel m;
    m.add(2, 16, {{"w", 4}});
    m.last().column_scale = 1;
    m.add(1, 1, {{"s", 8}});
    EXPECT_EQ(plan_error(m), "program weight 0 (w): its column scale, weight 1 (s), has 8 values, expected "
                             "16 (the weight's cols)" + suffix);
  }
  {
    TestModel m;
    m.add(2, 16, {{"w", 4}});
    m.last().column_scale = 1;
    m.add(2, 16, {{"v", 16}});
    m.last().column_scale = 2;
    m.add(1, 1, {{"s", 16}});
    EXPECT_EQ(plan_error(m), "program weight 0 (w): its column scale, weight 1 (v), is itself column-scaled "
                             "(by weight 2); a scale must stay as loaded" + suffix);
  }
}

TEST(WeightPlanErrors, ColumnScaleNeedsAScaleColumnsFunction) {
  TestModel m;
  m.add(1, 1, {{"model.layers.0.post_attention_layernorm.weight", 16}});
  m.add(2, 16, {{"model.layers.0.mlp.gate_proj.weight", 32}, {"model.layers.0.mlp.up_proj.weight", 32}});
  m.last().column_scale = 0;
  const std::string expected =
      "program weight 1 (model.layers.0.mlp.gate_proj.weight + model.layers.0.mlp.up_proj.weight) has a "
      "column scale (weight 0), but the program has no scale_columns function";
  llc::ModelProgram p = m.program(DType::bf16);  // scale_columns left null
  llc::WeightPlan plan = llc::plan_weights(*p.spec);
  EXPECT_EQ(weights_error_of([&] { llc::check_load_functions(plan, p); }), expected);
  // Both loaders check before any CUDA call (and before looking at the checkpoint directory).
  ScratchDir dir;
  EXPECT_EQ(weights_error_of([&] { llc::load_weights(p, dir.file("nowhere"), nullptr); }), expected);
  p.fill_random = [](void*, int64_t, uint64_t, float, float, cudaStream_t) {};
  EXPECT_EQ(weights_error_of([&] { llc::random_weights(p, 1, nullptr); }), expected);
  p.scale_columns = [](void*, const void*, int64_t, int64_t, cudaStream_t) {};
  EXPECT_EQ(weights_error_of([&] { llc::check_load_functions(plan, p); }), "<no exception>");
}

TEST(WeightPlan, BindsEverySourceWithItsDtype) {
  ScratchDir dir;
  llc_test::write_safetensors(dir.file("model.safetensors"), small_model_tensors());
  TestModel m;
  add_small_model(m);
  llc::WeightPlan plan = llc::plan_weights(m.spec(DType::bf16));
  llc::Checkpoint ck(dir.path());
  llc::bind_checkpoint(plan, ck);
  const auto& qkv = plan.allocations[1].sources;
  EXPECT_EQ(plan.allocations[0].sources[0].src_type, DType::bf16);
  EXPECT_EQ(qkv[0].src_type, DType::fp16);
  EXPECT_EQ(qkv[1].src_type, DType::fp32);
  EXPECT_EQ(qkv[2].src_type, DType::bf16);
  EXPECT_EQ(plan.allocations[2].sources[0].src_type, DType::fp32);
  EXPECT_EQ(qkv[1].tensor->name, "model.layers.0.self_attn.k_proj.weight");
  EXPECT_EQ(qkv[1].tensor->nbytes(), 8u * 16 * 4);
  EXPECT_EQ(qkv[1].file->path(), dir.file("model.safetensors"));
}

TEST(WeightPlanErrors, MissingTensorNamesDirAndFile) {
  ScratchDir dir;
  llc_test::write_safetensors(dir.file("model.safetensors"), small_model_tensors());
  TestModel m;
  add_small_model(m);
  m.add(2, 16, {{"model.layers.3.mlp.up_proj.weight", 32}});
  std::string expected = "weight 'model.layers.3.mlp.up_proj.weight' not found in " + dir.path() +
                         " (looked in model.safetensors)";
  llc::WeightPlan plan = llc::plan_weights(m.spec(DType::bf16));
  llc::Checkpoint ck(dir.path());
  EXPECT_EQ(weights_error_of([&] { llc::bind_checkpoint(plan, ck); }), expected);
  // load_weights checks before any CUDA call, so the same error comes out here without a GPU.
  llc::ModelProgram p = m.program(DType::bf16);
  EXPECT_EQ(weights_error_of([&] { llc::load_weights(p, dir.path(), nullptr); }), expected);
}

TEST(WeightPlanErrors, MissingFromShardedIndex) {
  ScratchDir dir;
  llc_test::write_safetensors(dir.file("a.safetensors"), small_model_tensors());
  llc_test::write_bytes(dir.file("model.safetensors.index.json"),
                        R"({"weight_map": {"model.embed_tokens.weight": "a.safetensors"}})");
  TestModel m;
  m.add(2, 16, {{"model.embed_tokens.weight", 64}});
  m.add(1, 1, {{"model.norm.weight", 16}});
  llc::ModelProgram p = m.program(DType::bf16);
  EXPECT_EQ(weights_error_of([&] { llc::load_weights(p, dir.path(), nullptr); }),
            "weight 'model.norm.weight' not found in " + dir.path() +
                " (looked in model.safetensors.index.json, whose weight_map does not list it)");
}

TEST(WeightPlanErrors, WrongShapeSaysExpectedAndFound) {
  ScratchDir dir;
  auto tensors = small_model_tensors();
  tensors[1] = {"model.layers.0.self_attn.q_proj.weight", "F16", {16, 12}, llc_test::pattern_bytes(192, 2, 2)};
  llc_test::write_safetensors(dir.file("model.safetensors"), tensors);
  TestModel m;
  add_small_model(m);
  llc::ModelProgram p = m.program(DType::bf16);
  EXPECT_EQ(weights_error_of([&] { llc::load_weights(p, dir.path(), nullptr); }),
            "weight 'model.layers.0.self_attn.q_proj.weight' in " + dir.file("model.safetensors") +
                " has shape [16, 12], expected [16, 16]");
}

TEST(WeightPlanErrors, RankOneWeightStoredAsMatrix) {
  ScratchDir dir;
  auto tensors = small_model_tensors();
  tensors[4] = {"model.norm.weight", "F32", {16, 1}, llc_test::pattern_bytes(16, 4, 5)};
  llc_test::write_safetensors(dir.file("model.safetensors"), tensors);
  TestModel m;
  add_small_model(m);
  llc::ModelProgram p = m.program(DType::bf16);
  EXPECT_EQ(weights_error_of([&] { llc::load_weights(p, dir.path(), nullptr); }),
            "weight 'model.norm.weight' in " + dir.file("model.safetensors") +
                " has shape [16, 1], expected [16]");
}

TEST(WeightPlanErrors, UnsupportedDtypeIsNamed) {
  ScratchDir dir;
  auto tensors = small_model_tensors();
  tensors[2] = {"model.layers.0.self_attn.k_proj.weight", "I64", {8, 16}, llc_test::pattern_bytes(128, 8, 3)};
  llc_test::write_safetensors(dir.file("model.safetensors"), tensors);
  TestModel m;
  add_small_model(m);
  llc::ModelProgram p = m.program(DType::fp16);
  EXPECT_EQ(weights_error_of([&] { llc::load_weights(p, dir.path(), nullptr); }),
            "weight 'model.layers.0.self_attn.k_proj.weight' in " + dir.file("model.safetensors") +
                " has dtype I64; only BF16, F16 and F32 can be loaded (converted to fp16)");
}

TEST(WeightPlanErrors, CheckpointProblemsComeOutAsWeightsErrors) {
  ScratchDir dir;
  TestModel m;
  add_small_model(m);
  llc::ModelProgram p = m.program(DType::bf16);
  std::string msg = weights_error_of([&] { llc::load_weights(p, dir.file("nowhere"), nullptr); });
  EXPECT_NE(msg.find(dir.file("nowhere") + "' does not exist"), std::string::npos) << msg;
  llc_test::write_bytes(dir.file("model.safetensors"), "bad");
  msg = weights_error_of([&] { llc::load_weights(p, dir.path(), nullptr); });
  EXPECT_NE(msg.find("shorter than the 8-byte"), std::string::npos) << msg;
}

TEST(WeightPlanErrors, ConversionNeedsAConvertFunction) {
  ScratchDir dir;
  llc_test::write_safetensors(dir.file("model.safetensors"), small_model_tensors());
  TestModel m;
  add_small_model(m);
  llc::ModelProgram p = m.program(DType::bf16);  // convert left null
  std::string msg = weights_error_of([&] { llc::load_weights(p, dir.path(), nullptr); });
  EXPECT_NE(msg.find("needs dtype conversion to bf16, but the program has no convert function"),
            std::string::npos) << msg;
}
