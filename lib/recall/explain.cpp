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
  m.p.assign(per * m.layers, 0.0f);
  m.conv_taps.assign(size_t(m.layers), {});
  for (int l = 0; l < m.layers; ++l) {
    if (c.is_conv(l)) {
      const float* w = model.weights().h[size_t(l)].convw;
      auto& taps = m.conv_taps[size_t(l)];
      taps.assign(size_t(c.conv_width), 0.0f);
      for (int ch = 0; ch < c.n_embd; ++ch)
        for (int k = 0; k < c.conv_width; ++k) taps[size_t(k)] += w[size_t(ch) * c.conv_width + k];
      continue;
    }
    std::copy(model.attention(l), model.attention(l) + per, m.p.begin() + l * per);
  }
  return m;
}

void print_heatmap(std::FILE* out, const AttentionMaps& m, int max_len) {
  static const char shades[] = " .:-=+*#%@";
  const int n = std::min(m.T, std::max(1, max_len));
  for (int l = 0; l < m.layers; ++l) {
    if (!m.conv_taps[size_t(l)].empty()) {
      const auto& taps = m.conv_taps[size_t(l)];
      const int K = int(taps.size());
      std::string t;
      for (int k = 0; k < K; ++k) t += fmt::format("{}{:g} (t-{})", k ? ", " : "", taps[size_t(k)], K - 1 - k);
      std::fprintf(out, "layer %d: short conv of width %d, not attention: position t mixes positions t-%d..t, channel "
                        "by channel; filter taps summed over channels: %s\n", l + 1, K, K - 1, t.c_str());
      continue;
    }
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
}

std::string attention_csv(const AttentionMaps& m) {
  std::string s = "layer,head,query,key,query_token,key_token,weight\n";
  for (int l = 0; l < m.layers; ++l)
    for (int h = 0; h < m.heads && m.conv_taps[size_t(l)].empty(); ++h)
      for (int i = 0; i < m.T; ++i)
        for (int j = 0; j <= i; ++j) {
          const float w = m.at(l, h, i, j);
          if (w < 1e-6f) continue;
          s += fmt::format("{},{},{},{},{},{},{:.6g}\n", l + 1, h, i, j, m.tokens[size_t(i)], m.tokens[size_t(j)], w);
        }
  return s;
}

}  // namespace gpt::recall
