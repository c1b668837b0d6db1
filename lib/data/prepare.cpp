#include "data/prepare.h"

#include <fcntl.h>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>

#include "core/error.h"
#include "core/fsutil.h"
#include "data/bpe_tokenizer.h"
#include "data/char_tokenizer.h"
#include "data/meta.h"
#include "data/token_file.h"
#include "data/utf8.h"

namespace fs = std::filesystem;

namespace gpt {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kChunk = 1 << 20;
constexpr char32_t kCodePoints = 0x110000;

bool is_stdin(const fs::path& p) { return p == "-"; }
std::string input_name(const fs::path& p) { return is_stdin(p) ? "standard input" : p.string(); }

// Reports progress on stderr for inputs that take a while; silent for small ones.
class Progress {
 public:
  Progress(const char* what, int64_t total) : what_(what), total_(total), last_(Clock::now()) {}
  void add(int64_t bytes) {
    done_ += bytes;
    auto now = Clock::now();
    if (now - last_ < std::chrono::seconds(2)) return;
    last_ = now;
    if (total_ > 0)
      spdlog::info("{}: {:.0f} of {:.0f} MiB ({:.0f}%)", what_, done_ / 1048576.0, total_ / 1048576.0,
                   100.0 * double(done_) / double(total_));
    else
      spdlog::info("{}: {:.0f} MiB", what_, done_ / 1048576.0);
  }

 private:
  const char* what_;
  int64_t total_, done_ = 0;
  Clock::time_point last_;
};

class Inputs {
 public:
  explicit Inputs(const std::vector<fs::path>& paths) : paths_(paths) {
    check(!paths.empty(), "no input given; pass --input FILE (or --input - for standard input)");
    int n_stdin = 0;
    for (const auto& p : paths) {
      if (is_stdin(p)) {
        ++n_stdin;
        continue;
      }
      std::error_code ec;
      auto st = fs::status(p, ec);
      if (!fs::exists(st)) fail("input file {} does not exist", p.string());
      if (fs::is_directory(st)) fail("input {} is a directory; pass the text files inside it", p.string());
      auto sz = fs::file_size(p, ec);
      if (!ec) total_ += int64_t(sz);
    }
    check(n_stdin <= 1, "standard input (-) can be given only once");
  }

  int64_t total_bytes() const { return total_; }

  // Calls fn(chunk) over one input's bytes, in order.
  void read(const fs::path& p, const std::function<void(std::string_view)>& fn) {
    if (is_stdin(p)) {
      if (!stdin_read_) {
        // A pipe cannot be read twice; keep it for the second pass.
        std::ios::sync_with_stdio(false);
        stdin_.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        check(!std::cin.bad(), "cannot read standard input");
        stdin_read_ = true;
      }
      for (size_t i = 0; i < stdin_.size(); i += kChunk)
        fn(std::string_view(stdin_).substr(i, kChunk));
      return;
    }
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot read input {}: {}", p.string(), std::strerror(errno));
    std::string buf(kChunk, '\0');
    try {
      for (;;) {
        ssize_t r = ::read(fd, buf.data(), buf.size());
        if (r < 0) {
          if (errno == EINTR) continue;
          fail("cannot read input {}: {}", p.string(), std::strerror(errno));
        }
        if (r == 0) break;
        fn(std::string_view(buf.data(), size_t(r)));
      }
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
  }

 private:
  const std::vector<fs::path>& paths_;
  int64_t total_ = 0;
  std::string stdin_;
  bool stdin_read_ = false;
};

// Decodes one input, prefixing UTF-8 errors with the input's name and a hint. A template so
// the per-character callback inlines into the decoder loop.
template <class F>
void decode_input(Inputs& in, const fs::path& p, Progress& prog, F&& emit) {
  Utf8Decoder dec;
  try {
    in.read(p, [&](std::string_view chunk) {
      dec.feed(chunk, emit);
      prog.add(int64_t(chunk.size()));
    });
    dec.finish();
  } catch (const Error& e) {
    if (std::strncmp(e.what(), "invalid UTF-8", 13) != 0) throw;
    fail("{}: {}; the char tokenizer reads UTF-8 text (convert other encodings with e.g. iconv -f latin1 -t utf-8)",
         input_name(p), e.what());
  }
}

}  // namespace

int64_t split_train_tokens(int64_t n, double val_fraction) {
  return int64_t(std::floor(double(n) * (1.0 - val_fraction)));
}

namespace {

// The train/val token counts for n tokens of input (an error when either split would be
// empty), after removing a stale meta.json: an interrupted run must not leave an old
// meta.json describing new shards. `unit` names what n counts in the messages.
std::pair<int64_t, int64_t> checked_split(int64_t n, double val_fraction, const char* unit, const fs::path& out_dir) {
  const int64_t n_train = split_train_tokens(n, val_fraction);
  const int64_t n_val = n - n_train;
  check(n_train > 0, "val_fraction {} leaves no training tokens from {} {} of input", val_fraction, n, unit);
  check(val_fraction == 0.0 || n_val > 0,
        "the input has only {} {}: val_fraction {} leaves no validation tokens; give more text or "
        "--val-fraction 0",
        n, unit, val_fraction);
  const fs::path meta = out_dir / "meta.json";
  std::error_code ec;
  fs::remove(meta, ec);
  if (ec) fail("cannot remove the old {}: {}", meta.string(), ec.message());
  return {n_train, n_val};
}

// The token stream cut at the train/val split into the two shards, whose sizes are known
// from the first pass. Both tokenizers write through it.
class SplitWriter {
 public:
  SplitWriter(const fs::path& train, const fs::path& val, int64_t n_train, int64_t n_val)
      : n_train_(n_train), n_val_(n_val), wtrain_(train, n_train) {
    if (n_val > 0) wval_ = std::make_unique<ShardWriter>(val, n_val);
    buf_.reserve(kChunk);
  }
  void push(uint16_t id) {
    buf_.push_back(id);
    ++i_;
    if (i_ == n_train_ || buf_.size() == kChunk) flush();
  }
  void commit() {
    flush();
    wtrain_.commit();
    if (wval_) wval_->commit();
  }

 private:
  void flush() {
    if (buf_.empty()) return;
    // Every buffered token lies on one side of the split: flush() runs at the boundary.
    ShardWriter* w = i_ <= n_train_ ? &wtrain_ : wval_.get();
    if (!w || w->written() + int64_t(buf_.size()) > (w == &wtrain_ ? n_train_ : n_val_))
      fail("the input changed while it was being read (more tokens than in the first pass); rerun "
           "gpt-prepare on a file that is not being written");
    w->append(buf_);
    buf_.clear();
  }
  int64_t n_train_, n_val_, i_ = 0;
  ShardWriter wtrain_;
  std::unique_ptr<ShardWriter> wval_;
  std::vector<uint16_t> buf_;
};

// Text pending in the BPE stream is cut where encoding in parts equals encoding whole
// (BpeTokenizer::safe_split). Text with no such point (no ASCII space for this long) is cut
// at a character boundary anyway, so memory stays bounded; only such text can tokenise
// differently from a whole-file encode, at one word per 64 MiB.
constexpr size_t kMaxPending = size_t(64) << 20;

// Calls emit(ids) for consecutive pieces of all inputs, concatenated, encoded with tok.
template <class F>
void bpe_stream(Inputs& in, const std::vector<fs::path>& paths, const BpeTokenizer& tok, Progress& prog, F&& emit) {
  std::string pending;
  std::vector<int32_t> ids;
  auto encode = [&](size_t n) {
    ids.clear();
    tok.encode(std::string_view(pending).substr(0, n), ids);
    emit(ids);
    pending.erase(0, n);
  };
  for (const auto& p : paths)
    in.read(p, [&](std::string_view chunk) {
      pending.append(chunk);
      size_t cut = BpeTokenizer::safe_split(pending);
      if (cut == 0 && pending.size() > kMaxPending) {
        cut = pending.size();
        while (cut > 1 && (uint8_t(pending[cut - 1]) & 0xC0) == 0x80) --cut;
        if (cut > 1) --cut;  // before the lead byte of the last character
      }
      if (cut > 0) encode(cut);
      prog.add(int64_t(chunk.size()));
    });
  encode(pending.size());
}

PrepareResult prepare_gpt2(const PrepareOptions& opt, Inputs& in) {
  const auto t0 = Clock::now();
  check(!opt.vocab_dir.empty(),
        "the gpt2 tokenizer needs its vocabulary: pass --vocab DIR with GPT-2's vocab.json and merges.txt");
  const BpeTokenizer tok = BpeTokenizer::load(opt.vocab_dir);
  check(tok.vocab_size() <= CharTokenizer::kMaxVocab,
        "the vocabulary in {} has {} tokens, more than the {} that uint16 token files can hold",
        opt.vocab_dir.string(), tok.vocab_size(), CharTokenizer::kMaxVocab);

  // Pass 1 counts the tokens (and fills the merge cache, which makes pass 2 cheaper).
  int64_t n = 0;
  {
    Progress prog("pass 1/2 (counting tokens)", in.total_bytes());
    bpe_stream(in, opt.inputs, tok, prog, [&](const std::vector<int32_t>& ids) { n += int64_t(ids.size()); });
  }
  check(n > 0, "the input is empty ({}); give a text file with at least a few characters",
        opt.inputs.size() == 1 ? input_name(opt.inputs[0]) : "all inputs");
  const auto [n_train, n_val] = checked_split(n, opt.val_fraction, "tokens", opt.out_dir);
  const fs::path meta = opt.out_dir / "meta.json", train = opt.out_dir / "train.bin", val = opt.out_dir / "val.bin";
  {
    SplitWriter w(train, val, n_train, n_val);
    Progress prog("pass 2/2 (encoding)", in.total_bytes());
    int64_t i = 0;
    bpe_stream(in, opt.inputs, tok, prog, [&](const std::vector<int32_t>& ids) {
      i += int64_t(ids.size());
      if (i > n)
        fail("the input changed while it was being read (more tokens than in the first pass); rerun "
             "gpt-prepare on a file that is not being written");
      for (int32_t id : ids) w.push(uint16_t(id));
    });
    check(i == n, "the input changed while it was being read ({} tokens, {} in the first pass); rerun gpt-prepare "
          "on a file that is not being written", i, n);
    w.commit();
  }
  std::error_code ec;
  if (n_val == 0) fs::remove(val, ec);

  const auto [vocab_file, merges_file] = BpeTokenizer::find_files(opt.vocab_dir);
  nlohmann::ordered_json j;
  j["tokenizer"] = "gpt2";
  j["vocab_size"] = tok.vocab_size();
  j["train_tokens"] = n_train;
  j["val_tokens"] = n_val;
  j["inputs"] = nlohmann::ordered_json::array();
  for (const auto& p : opt.inputs) j["inputs"].push_back(p.string());
  j["eot_token"] = tok.eot_id();
  j["vocab_file"] = fs::absolute(vocab_file).lexically_normal().string();
  j["merges_file"] = fs::absolute(merges_file).lexically_normal().string();
  write_file_atomic(meta, j.dump(1) + "\n");

  PrepareResult r;
  r.vocab_size = tok.vocab_size();
  r.train_tokens = n_train;
  r.val_tokens = n_val;
  r.files.push_back(train);
  if (n_val > 0) r.files.push_back(val);
  r.files.push_back(meta);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

}  // namespace

PrepareResult prepare_dataset(const PrepareOptions& opt) {
  const auto t0 = Clock::now();
  check(opt.tokenizer == "char" || opt.tokenizer == "gpt2", "unknown tokenizer \"{}\" (expected char or gpt2)",
        opt.tokenizer);
  check(opt.val_fraction >= 0.0 && opt.val_fraction < 1.0, "val_fraction must be in [0, 1), got {}",
        opt.val_fraction);
  check(!opt.out_dir.empty(), "no output directory given; pass --out DIR");
  Inputs in(opt.inputs);
  ensure_writable_dir(opt.out_dir);
  if (opt.tokenizer == "gpt2") return prepare_gpt2(opt, in);

  // Pass 1: which code points occur, and how many characters there are.
  std::vector<uint8_t> seen(kCodePoints, 0);
  int64_t n = 0;
  {
    Progress prog("pass 1/2 (vocabulary)", in.total_bytes());
    for (const auto& p : opt.inputs)
      decode_input(in, p, prog, [&](char32_t cp) {
        seen[cp] = 1;
        ++n;
      });
  }
  check(n > 0, "the input is empty ({}); give a text file with at least a few characters",
        opt.inputs.size() == 1 ? input_name(opt.inputs[0]) : "all inputs");
  std::vector<char32_t> vocab;
  for (char32_t cp = 0; cp < kCodePoints; ++cp)
    if (seen[cp]) vocab.push_back(cp);
  check(vocab.size() <= size_t(CharTokenizer::kMaxVocab),
        "the input has {} distinct characters, more than the {} a char vocabulary can hold (token files store "
        "uint16 ids)",
        vocab.size(), CharTokenizer::kMaxVocab);
  const CharTokenizer tok(std::move(vocab));

  const auto [n_train, n_val] = checked_split(n, opt.val_fraction, "characters", opt.out_dir);
  const fs::path meta = opt.out_dir / "meta.json", train = opt.out_dir / "train.bin", val = opt.out_dir / "val.bin";

  // Pass 2: encode into the two shards, whose sizes are now known.
  {
    SplitWriter w(train, val, n_train, n_val);
    Progress prog("pass 2/2 (encoding)", in.total_bytes());
    for (const auto& p : opt.inputs)
      decode_input(in, p, prog, [&](char32_t cp) {
        int32_t id = tok.id_of(cp);
        if (id < 0)
          fail("the input changed while it was being read ({} did not occur in the first pass); rerun gpt-prepare "
               "on a file that is not being written",
               code_point_name(cp));
        w.push(uint16_t(id));
      });
    w.commit();
  }
  if (n_val == 0) {
    std::error_code ec;
    fs::remove(val, ec);  // a stale val.bin from an earlier split would not match meta.json
  }

  std::vector<std::string> names;
  for (const auto& p : opt.inputs) names.push_back(p.string());
  write_file_atomic(meta, char_meta_json(tok, n_train, n_val, names).dump(1) + "\n");

  PrepareResult r;
  r.vocab_size = tok.vocab_size();
  r.train_tokens = n_train;
  r.val_tokens = n_val;
  r.files.push_back(train);
  if (n_val > 0) r.files.push_back(val);
  r.files.push_back(meta);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

}  // namespace gpt
