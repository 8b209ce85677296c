#include "scan/transform.h"

#include <cstring>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <random>

#include "common/strings.h"
#include "scan/validators.h"

namespace steward::scan {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr const char* kFirstNames[] = {
    "Alex",   "Jordan", "Taylor", "Morgan", "Casey",  "Riley",  "Avery",  "Quinn",
    "Jamie",  "Robin",  "Drew",   "Rowan",  "Sasha",  "Emery",  "Hayden", "Reese",
    "Parker", "Skyler", "Devon",  "Kendall", "Marlow", "Ellis", "Blair",  "Sidney"};
constexpr const char* kLastNames[] = {
    "Ashdown", "Brightwell", "Calloway", "Dunmore",  "Everly",   "Fairholt", "Greaves",
    "Hollis",  "Ingram",     "Jessop",   "Kingsley", "Lockhart", "Merriman", "Northcott",
    "Oakes",   "Pemberton",  "Quarles",  "Radley",   "Stanway",  "Thornbury", "Upton",
    "Vance",   "Whitcombe",  "Yardley"};
constexpr const char* kPlaces[] = {
    "Fairhaven", "Millbrook", "Ashford Vale", "Cedar Hollow", "Brookmere", "Kingsport",
    "Westerley", "Oakridge",  "Stonebury",    "Larkfield",    "Elmstead",  "Harrowgate",
    "Redcliffe", "Thornwick", "Wyvern Bay",   "Glenmoor"};

// Appends `v` as exactly `n` decimal digits (the lowest ones, zero-padded).
void AppendDigits(std::string& s, uint64_t v, int n) {
  const size_t at = s.size();
  s.append(static_cast<size_t>(n), '0');
  for (int i = n - 1; i >= 0; --i) {
    s[at + static_cast<size_t>(i)] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

char LuhnCheckDigit(std::string_view body) {
  int sum = 0;
  bool dbl = true;
  for (size_t i = body.size(); i-- > 0;) {
    int v = body[i] - '0';
    if (dbl) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
    dbl = !dbl;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

}  // namespace

Result<Action> ParseAction(std::string_view name) {
  if (name == "allow") return Action::kAllow;
  if (name == "flag") return Action::kFlag;
  if (name == "mask") return Action::kMask;
  if (name == "redact") return Action::kRedact;
  if (name == "hash") return Action::kHash;
  if (name == "pseudonymize" || name == "pseudonymise") return Action::kPseudonymize;
  if (name == "block") return Action::kBlock;
  return InvalidArgument("unknown scan action `" + std::string(name) +
                         "` (allow|flag|mask|redact|hash|pseudonymize|block)");
}

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kAllow: return "allow";
    case Action::kFlag: return "flag";
    case Action::kMask: return "mask";
    case Action::kRedact: return "redact";
    case Action::kHash: return "hash";
    case Action::kPseudonymize: return "pseudonymize";
    case Action::kBlock: return "block";
  }
  return "allow";
}

bool Rewrites(Action a) {
  return a == Action::kMask || a == Action::kRedact || a == Action::kHash ||
         a == Action::kPseudonymize;
}

std::string MaskValue(std::string_view value) {
  // E-mail: keep the domain (what a reader needs to route a reply).
  size_t at = value.rfind('@');
  if (at != std::string_view::npos && at > 0 && at + 1 < value.size())
    return "****" + std::string(value.substr(at));
  std::string last;
  for (size_t i = value.size(); i-- > 0 && last.size() < 4;)
    if (IsAlnum(value[i])) last.insert(last.begin(), value[i]);
  size_t alnum = 0;
  for (char c : value) alnum += IsAlnum(c);
  if (alnum < 8) return std::string(std::max<size_t>(4, std::min<size_t>(value.size(), 8)), '*');
  return "****" + last;
}

std::string RedactToken(std::string_view type) { return "<" + std::string(type) + ">"; }

std::string HashToken(std::string_view type, std::string_view value, std::string_view key) {
  std::string msg = std::string(type) + ":" + std::string(value);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  std::string hex = HexEncode(std::string_view(reinterpret_cast<const char*>(mac), len));
  return "<" + std::string(type) + ":" + hex.substr(0, 12) + ">";
}

Vault::Vault(uint64_t seed) {
  if (seed == 0) {
    // One OS-random seed per thread, then a fresh stream per vault: opening
    // the random device per request costs more than the whole scan.
    static thread_local uint64_t stream = [] {
      std::random_device rd;
      return (static_cast<uint64_t>(rd()) << 32) ^ rd();
    }();
    stream += 0x9e3779b97f4a7c15ull;
    seed = stream * 0xbf58476d1ce4e5b9ull ^ (stream >> 31);
  }
  state_ = seed | 1;
}

uint64_t Vault::Next() {
  // xorshift64*: placeholders need to be unpredictable only enough not to
  // collide with real text; the vault never leaves the request.
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return state_ * 2685821657736338717ull;
}

void Vault::Candidate(std::string_view type, std::string_view original) {
  std::string& out = candidate_;
  out.clear();
  uint64_t r = Next();
  if (type == "EMAIL_ADDRESS") {
    static constexpr const char* kAlpha = "abcdefghijkmnpqrstuvwxyz23456789";
    out.append("user.");
    for (int i = 0; i < 6; ++i) out.push_back(kAlpha[(r >> (5 * i)) & 31]);
    out.append("@example.com");
    return;
  }
  if (type == "PERSON") {
    out.append(kFirstNames[r % std::size(kFirstNames)]).push_back(' ');
    // Many names in one request: add a middle initial to stay unique.
    if (entries_.size() >= 8) {
      out.push_back(static_cast<char>('A' + (r >> 16) % 26));
      out.append(". ");
    }
    out.append(kLastNames[(r >> 8) % std::size(kLastNames)]);
    return;
  }
  if (type == "LOCATION") {
    out.append(kPlaces[r % std::size(kPlaces)]);
    if (entries_.size() >= 4) {
      out.push_back(' ');
      AppendDigits(out, 10 + (r >> 8) % 90, 2);
    }
    return;
  }
  if (type == "PHONE_NUMBER") {
    out.append("+1-555-01");
    AppendDigits(out, r % 100, 2);
    out.push_back('-');
    AppendDigits(out, r >> 8, 4);
    return;
  }
  if (type == "CREDIT_CARD") {
    char body[17] = "400000";
    for (int i = 14; i >= 6; --i) {
      body[i] = static_cast<char>('0' + r % 10);
      r /= 10;
    }
    body[15] = LuhnCheckDigit(std::string_view(body, 15));
    for (int g = 0; g < 4; ++g) {
      if (g > 0) out.push_back(' ');
      out.append(body + 4 * g, 4);
    }
    return;
  }
  if (type == "US_SSN") {
    out.append("666-");
    AppendDigits(out, 10 + r % 89, 2);
    out.push_back('-');
    AppendDigits(out, 1000 + (r >> 8) % 8999, 4);
    return;
  }
  if (type == "IBAN_CODE") {
    out.append("GB00STEW");
    AppendDigits(out, r, 14);
    // Check digits so the placeholder is itself a valid IBAN: the BBAN,
    // then "GB00", mod 97.
    int mod = 0;
    auto add = [&mod](char c) {
      if (IsDigit(c)) mod = (mod * 10 + (c - '0')) % 97;
      else mod = (mod * 100 + (c - 'A' + 10)) % 97;
    };
    for (size_t i = 4; i < out.size(); ++i) add(out[i]);
    for (char c : {'G', 'B', '0', '0'}) add(c);
    const int check = 98 - mod;
    out[2] = static_cast<char>('0' + check / 10);
    out[3] = static_cast<char>('0' + check % 10);
    return;
  }
  if (type == "IP_ADDRESS") {
    if (original.find(':') != std::string_view::npos) {
      static constexpr char kHex[] = "0123456789abcdef";
      out.append("2001:db8::");
      for (uint64_t byte : {r & 0xff, (r >> 8) & 0xff}) {
        out.push_back(kHex[byte >> 4]);
        out.push_back(kHex[byte & 15]);
      }
      return;
    }
    static constexpr const char* kNets[] = {"192.0.2.", "198.51.100.", "203.0.113."};
    out.append(kNets[r % 3]).append(std::to_string(1 + (r >> 8) % 254));
    return;
  }
  if (type == "URL") {
    static constexpr const char* kAlpha = "abcdefghijkmnpqrstuvwxyz23456789";
    out.append("https://example.com/");
    for (int i = 0; i < 8; ++i) out.push_back(kAlpha[(r >> (5 * i)) & 31]);
    return;
  }
  // Everything else: keep the format, replace letters and digits.
  out.assign(original);
  uint64_t x = r;
  for (char& c : out) {
    if (x < 64) x = Next();
    if (IsDigit(c)) c = static_cast<char>('0' + x % 10);
    else if (c >= 'a' && c <= 'z') c = static_cast<char>('a' + x % 26);
    else if (c >= 'A' && c <= 'Z') c = static_cast<char>('A' + x % 26);
    x /= 26;
  }
}

std::string_view Vault::Keep(std::string_view bytes) {
  if (bytes.size() > block_left_) {
    // Blocks never move (views into them are handed out); a request's
    // values usually fit the first one.
    const size_t size = std::max<size_t>(1024, bytes.size());
    blocks_.push_back(std::make_unique<char[]>(size));
    block_at_ = blocks_.back().get();
    block_left_ = size;
  }
  if (!bytes.empty()) std::memcpy(block_at_, bytes.data(), bytes.size());
  std::string_view kept(block_at_, bytes.size());
  block_at_ += bytes.size();
  block_left_ -= bytes.size();
  return kept;
}

uint64_t Vault::TextHash(std::string_view text) {
  // Eight bytes a step (values and placeholders are short; std::hash's
  // byte-wise tail made it a tenth of a pseudonym's cost).
  const char* p = text.data();
  size_t n = text.size();
  uint64_t h = n * 0x9E3779B97F4A7C15ull;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
  }
  if (n > 0) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = (h ^ v) * 0x94D049BB133111EBull;
  }
  return h ^ (h >> 31);
}

uint64_t Vault::KeyHash(std::string_view type, std::string_view original) {
  return TextHash(original) ^ (TextHash(type) * 0x9E3779B97F4A7C15ull);
}

namespace {

// Linear probing in an open-addressing index of entry numbers (kNone marks
// a free slot) for the entry that `is_it` accepts.
template <typename IsIt>
uint32_t Probe(const std::vector<uint32_t>& index, uint64_t hash, uint32_t none, IsIt is_it) {
  if (index.empty()) return none;
  const size_t mask = index.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const uint32_t e = index[i];
    if (e == none || is_it(e)) return e;
  }
}

}  // namespace

uint32_t Vault::FindOriginal(std::string_view type, std::string_view original,
                             uint64_t hash) const {
  return Probe(by_original_, hash, kNone, [&](uint32_t e) {
    const Entry& entry = entries_[e];
    return entry.key_hash == hash && entry.original == original && entry.type == type;
  });
}

uint32_t Vault::FindPlaceholder(std::string_view placeholder, uint64_t hash) const {
  return Probe(by_placeholder_, hash, kNone, [&](uint32_t e) {
    const Entry& entry = entries_[e];
    return entry.placeholder_hash == hash && entry.placeholder == placeholder;
  });
}

void Vault::Index() {
  auto insert = [](std::vector<uint32_t>& table, uint64_t hash, uint32_t e) {
    const size_t mask = table.size() - 1;
    size_t i = hash & mask;
    while (table[i] != kNone) i = (i + 1) & mask;
    table[i] = e;
  };
  if (entries_.size() * 2 > by_original_.size()) {
    // Half load at most; rebuilt from the entries (a few per request).
    const size_t size = std::max<size_t>(32, by_original_.size() * 2);
    by_original_.assign(size, kNone);
    by_placeholder_.assign(size, kNone);
    for (uint32_t e = 0; e < entries_.size(); ++e) {
      insert(by_original_, entries_[e].key_hash, e);
      insert(by_placeholder_, entries_[e].placeholder_hash, e);
    }
    return;
  }
  const uint32_t e = static_cast<uint32_t>(entries_.size() - 1);
  insert(by_original_, entries_[e].key_hash, e);
  insert(by_placeholder_, entries_[e].placeholder_hash, e);
}

std::string_view Vault::Pseudonymize(std::string_view type, std::string_view original,
                                     std::string_view avoid) {
  const uint64_t key = KeyHash(type, original);
  if (const uint32_t e = FindOriginal(type, original, key); e != kNone)
    return entries_[e].placeholder;
  uint64_t placeholder_hash = 0;
  for (int attempt = 0;; ++attempt) {
    Candidate(type, original);
    const std::string_view p = candidate_;
    placeholder_hash = TextHash(p);
    const bool collides =
        FindPlaceholder(p, placeholder_hash) != kNone || p == original || Occurs(avoid, p);
    if (!collides) break;
    if (attempt > 20) {  // exhausted the realistic space: fall back to a tagged token
      candidate_ = "<" + std::string(type) + "_" + std::to_string(entries_.size() + 1) + ">";
      placeholder_hash = TextHash(candidate_);
      break;
    }
  }
  Entry entry;
  entry.type = Keep(type);
  entry.original = Keep(original);
  entry.placeholder = Keep(candidate_);
  entry.key_hash = key;
  entry.placeholder_hash = placeholder_hash;
  if (entries_.empty()) entries_.reserve(16);
  entries_.push_back(entry);
  Index();
  max_len_ = std::max(max_len_, entry.placeholder.size());
  return entry.placeholder;
}

namespace {
uint32_t Gram4(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v * 0x9E3779B1u;
}
}  // namespace

bool Vault::Occurs(std::string_view avoid, std::string_view p) {
  if (avoid.empty() || p.size() > avoid.size()) return false;
  constexpr size_t kSmall = 256;  // below this a plain search is as cheap
  // Shorter placeholders have an alignment without a whole 4-byte window.
  if (p.size() < 7 || avoid.size() < kSmall) return avoid.find(p) != std::string_view::npos;
  GramFilter& g = grams_;
  // The filter belongs to one prompt: same buffer, length and sampled bytes
  // (a prompt is not edited in place while its request is being scanned).
  // (Sixteen independent products summed: no chain of dependent
  // multiplies per call.)
  uint64_t sample = avoid.size();
  for (size_t k = 0; k < 16; ++k) {
    uint64_t v;
    std::memcpy(&v, avoid.data() + (avoid.size() - 8) * k / 15, 8);
    sample += (v ^ k) * (0x9E3779B97F4A7C15ull + 2 * k);
  }
  if (g.data != avoid.data() || g.size != avoid.size() || g.sample != sample) {
    // The windows that start at a multiple of 4 (a quarter of the work of
    // all windows): any occurrence of a placeholder of 7+ bytes puts, for
    // one of its 4 alignments, every window of that alignment on one of
    // them. 6-12 one-byte slots per window: few false "maybe"s, and the
    // build is plain stores (a bitmap's read-modify-write per window
    // chained the build, ~2.5 us of a 4 KB prompt's stage time).
    size_t windows = avoid.size() / 4 + 1;
    unsigned log2 = 10;
    while ((size_t{1} << log2) < windows * 6 && log2 < 28) ++log2;  // 6-12 slots a window
    g.shift = 32 - log2;
    g.slots.assign(size_t{1} << log2, 0);
    uint8_t* slots = g.slots.data();
    const char* data = avoid.data();
    const unsigned shift = g.shift;
    for (size_t i = 0; i + 4 <= avoid.size(); i += 4) slots[Gram4(data + i) >> shift] = 1;
    g.data = avoid.data();
    g.size = avoid.size();
    g.sample = sample;
  }
  for (size_t align = 0; align < 4; ++align) {
    bool maybe = true;
    for (size_t j = align; maybe && j + 4 <= p.size(); j += 4) {
      maybe = g.slots[Gram4(p.data() + j) >> g.shift] != 0;
    }
    if (maybe) return avoid.find(p) != std::string_view::npos;
  }
  return false;
}

std::string Vault::Restore(std::string_view text) const {
  std::string out;
  RestorePrefix(text, true, &out);
  return out;
}

size_t Vault::RestorePrefix(std::string_view text, bool final, std::string* out) const {
  out->reserve(out->size() + text.size());
  if (entries_.empty()) {
    out->append(text);
    return text.size();
  }
  if (restore_built_for_ != entries_.size()) {
    // Placeholders by their first byte, longest first (a placeholder that
    // is a prefix of another must not win).
    restore_order_.resize(entries_.size());
    for (uint32_t e = 0; e < entries_.size(); ++e) restore_order_[e] = e;
    auto first = [this](uint32_t e) {
      return static_cast<unsigned char>(entries_[e].placeholder[0]);
    };
    std::sort(restore_order_.begin(), restore_order_.end(), [&](uint32_t a, uint32_t b) {
      if (first(a) != first(b)) return first(a) < first(b);
      return entries_[a].placeholder.size() > entries_[b].placeholder.size();
    });
    size_t k = 0;
    for (unsigned c = 0; c <= 256; ++c) {
      while (k < restore_order_.size() && first(restore_order_[k]) < c) ++k;
      restore_first_[c] = static_cast<uint32_t>(k);
    }
    restore_built_for_ = entries_.size();
  }
  size_t i = 0;
  while (i < text.size()) {
    bool replaced = false, partial = false;
    const unsigned char c = static_cast<unsigned char>(text[i]);
    for (uint32_t k = restore_first_[c]; k < restore_first_[c + 1]; ++k) {
      const Entry& e = entries_[restore_order_[k]];
      const std::string_view p = e.placeholder;
      const size_t avail = text.size() - i;
      if (avail >= p.size()) {
        if (text.compare(i, p.size(), p) == 0) {
          // A longer placeholder (tried first) that may still complete in
          // the next piece wins over this shorter one: wait for it.
          if (partial) return i;
          out->append(e.original);
          i += p.size();
          replaced = true;
          break;
        }
      } else if (!final && text.compare(i, avail, p.substr(0, avail)) == 0) {
        partial = true;  // may complete in the next piece
      }
    }
    if (replaced) continue;
    if (partial) return i;
    out->push_back(text[i++]);
  }
  return i;
}

std::string StreamRestorer::Push(std::string_view piece) {
  pending_.append(piece);
  std::string out;
  if (vault_ == nullptr) {
    out.swap(pending_);
    return out;
  }
  size_t used = vault_->RestorePrefix(pending_, false, &out);
  pending_.erase(0, used);
  return out;
}

std::string StreamRestorer::Flush() {
  std::string out = vault_ ? vault_->Restore(pending_) : pending_;
  pending_.clear();
  return out;
}

std::string ApplyActions(std::string_view text, const std::vector<Finding>& findings,
                         const ActionFor& action_for, const TransformContext& ctx) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const Finding& f : findings) {
    if (f.start < pos || f.end > text.size()) continue;  // defensive: overlapping input
    Action a = action_for(f);
    if (!Rewrites(a)) continue;
    out.append(text.substr(pos, f.start - pos));
    std::string_view value = text.substr(f.start, f.end - f.start);
    switch (a) {
      case Action::kMask: out += MaskValue(value); break;
      case Action::kRedact: out += RedactToken(f.type); break;
      case Action::kHash: out += HashToken(f.type, value, ctx.hash_key); break;
      case Action::kPseudonymize:
        if (ctx.vault) out += ctx.vault->Pseudonymize(f.type, value, ctx.avoid);
        else out += RedactToken(f.type);
        break;
      default: break;
    }
    pos = f.end;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace steward::scan
