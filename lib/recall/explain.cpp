#include "recall/explain.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace gpt::recall {

AttentionMaps attention_maps(GPT& model, const std::vector<int32_t>& tokens) {
  const GPTConfig& c = model.config();
  check(!tokens.empty() && int(tokens.size()) <= c.block_size, "explain: need 1..{} tokens, got {}", c.block_size,
        tokens.size());
  AttentionMaps m;
  m.layers = c.n_layer;
  m.heads = c.n_head;
  m.T = int(tokens.size());
  m.tokens = tokens;
  model.forward(tokens.data(), nullptr, 1, m.T, false);
  const size_t per = size_t(m.heads) * m.T * m.T;
  m.p.resize(per * m.layers);
  for (int l = 0; l < m.layers; ++l) std::copy(model.attention(l), model.attention(l) + per, m.p.begin() + l * per);
  return m;
}

void print_heatmap(std::FILE* out, const AttentionMaps& m, int max_len) {
  static const char shades[] = " .:-=+*#%@";
  const int n = std::min(m.T, std::max(1, max_len));
  for (int l = 0; l < m.layers; ++l)
    for (int h = 0; h < m.heads; ++h) {
      std::fprintf(out, "layer %d head %d: rows = query position (token), columns = key position 0..%d;"
                        " shade ' .:-=+*#%%@' = weight 0..1\n", l + 1, h, n - 1);
      std::string ruler(12, ' ');
      for (int j = 0; j < n; ++j) ruler += char('0' + j % 10);
      std::fprintf(out, "%s\n", ruler.c_str());
      for (int i = 0; i < n; ++i) {
        std::string row;
        int best = 0;
        for (int j = 0; j < n; ++j) {
          const float w = j <= i ? m.at(l, h, i, j) : 0.0f;
          row += shades[std::clamp(int(w * 9.0f + 0.5f), 0, 9)];
          if (j <= i && w > m.at(l, h, i, best)) best = j;
        }
        std::fprintf(out, "%4d (%5d) %s  -> %d (%.3f)\n", i, m.tokens[size_t(i)], row.c_str(), best,
                     m.at(l, h, i, best));
      }
      if (n < m.T) std::fprintf(out, "(first %d of %d positions; --explain-len shows more)\n", n, m.T);
    }
}

std::string attention_csv(const AttentionMaps& m) {
  std::string s = "layer,head,query,key,query_token,key_token,weight\n";
  for (int l = 0; l < m.layers; ++l)
    for (int h = 0; h < m.heads; ++h)
      for (int i = 0; i < m.T; ++i)
        for (int j = 0; j <= i; ++j) {
          const float w = m.at(l, h, i, j);
          if (w < 1e-6f) continue;
          s += fmt::format("{},{},{},{},{},{},{:.6g}\n", l + 1, h, i, j, m.tokens[size_t(i)], m.tokens[size_t(j)], w);
        }
  return s;
}

}  // namespace gpt::recall
