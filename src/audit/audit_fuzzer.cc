// libFuzzer target for everything the audit module parses from outside:
// canonical JSON leaves, sth.json, leaves.jsonl lines, whole export
// directories (verify-export), proof verification with hostile inputs, and
// the payload, subject-run and leaf blocks read back from the store (a
// damaged file).
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <zstd.h>

#include "audit/canonical_json.h"
#include "audit/leaf_blocks.h"
#include "audit/log_store.h"
#include "audit/merkle.h"
#include "audit/verify.h"

using namespace steward::audit;

namespace {

int64_t ReadInt(std::string_view& in) {
  int64_t v = 0;
  for (int i = 0; i < 4 && !in.empty(); ++i) {
    v = (v << 8) | static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
  }
  return v % 5000;
}

std::vector<Hash> ReadHashes(std::string_view in) {
  std::vector<Hash> out;
  while (in.size() >= 32 && out.size() < 70) {
    Hash h;
    std::copy(in.begin(), in.begin() + 32, reinterpret_cast<char*>(h.data()));
    out.push_back(h);
    in.remove_prefix(32);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0] % 8;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (mode) {
    case 0: {
      auto v = ParseCanonicalJson(in);
      if (v.ok()) {
        auto again = CanonicalJson(*v);
        if (!again.ok() || *again != in) std::abort();  // canonical form must round-trip
      }
      break;
    }
    case 1:
      (void)ParseSthJson(in);
      break;
    case 2:
      (void)ParseExportLine(in);
      break;
    case 3: {
      // A whole export directory: first line-break splits sth.json from leaves.jsonl.
      static const std::string dir =
          (std::filesystem::temp_directory_path() / ("audit_fuzz_" + std::to_string(::getpid())))
              .string();
      std::filesystem::create_directories(dir);
      auto nl = in.find('\n');
      std::string_view sth = in.substr(0, nl);
      std::string_view leaves = nl == std::string_view::npos ? "" : in.substr(nl + 1);
      std::ofstream(dir + "/sth.json", std::ios::binary | std::ios::trunc)
          .write(sth.data(), static_cast<std::streamsize>(sth.size()));
      std::ofstream(dir + "/leaves.jsonl", std::ios::binary | std::ios::trunc)
          .write(leaves.data(), static_cast<std::streamsize>(leaves.size()));
      (void)VerifyExport(dir, "");
      break;
    }
    case 5: {
      // A decoded block accounts for every byte of the body: the version
      // byte, then per part a 16-byte header, its ref, subject and sealed text.
      auto parts = DecodePayloadBlock(in);
      if (parts.ok()) {
        size_t bytes = 1;
        for (const auto& p : *parts)
          bytes += 16 + p.ref.size() + p.subject.size() + (p.sealed ? p.sealed->size() : 0);
        if (bytes != in.size()) std::abort();
      }
      break;
    }
    case 6: {
      // A subject run (migration 10) from a damaged store: a decoded run is
      // strictly increasing and encodes back to exactly its bytes.
      const int64_t first = ReadInt(in);
      auto indices = DecodeSubjectRun(first, in);
      if (indices.ok()) {
        for (size_t i = 1; i < indices->size(); ++i) {
          if ((*indices)[i] <= (*indices)[i - 1]) std::abort();
        }
        if (EncodeSubjectRun(*indices) != in) {
          // Only an over-long varint (a delta with redundant high zero
          // groups) may differ; it must still decode to the same indices.
          auto again = DecodeSubjectRun(first, EncodeSubjectRun(*indices));
          if (!again.ok() || *again != *indices) std::abort();
        }
      }
      break;
    }
    case 7: {
      // A leaf block (migration 11) from a damaged store: the first byte is
      // the row's record count (and a flag), then either the body as
      // stored or (flag set) the decoded records section, compressed here so the
      // record parser behind zstd sees hostile bytes too. A decoded block
      // must encode back to a block that decodes to the same records.
      if (in.empty()) break;
      const auto head = static_cast<uint8_t>(in[0]);
      const int64_t entries = (head & 0x7F) % 70;
      in.remove_prefix(1);
      std::string body;
      if (head & 0x80) {
        body.assign("\x01\x00");
        std::string frame(ZSTD_compressBound(in.size()), '\0');
        const size_t n = ZSTD_compress(frame.data(), frame.size(), in.data(), in.size(), 1);
        if (ZSTD_isError(n)) std::abort();
        body.append(frame.data(), n);
      } else {
        body.assign(in);
      }
      DecodedLeafBlock block;
      if (block.Decode(5, entries, body).ok()) {
        if (static_cast<int64_t>(block.leaves().size()) != entries) std::abort();
        auto again = EncodeLeafBlock(block.leaves());
        if (!again.ok()) std::abort();
        DecodedLeafBlock second;
        if (!second.Decode(5, entries, *again).ok()) std::abort();
        for (size_t i = 0; i < block.leaves().size(); ++i) {
          const auto& a = block.leaves()[i];
          const auto& b = second.leaves()[i];
          if (a.leaf != b.leaf || a.kind != b.kind || a.subject != b.subject ||
              a.time_ms != b.time_ms) {
            std::abort();
          }
        }
      }
      break;
    }
    case 4: {
      int64_t a = ReadInt(in), b = ReadInt(in);
      auto hashes = ReadHashes(in);
      Hash leaf = hashes.empty() ? EmptyRoot() : hashes.back();
      (void)VerifyInclusion(a, b, leaf, hashes, leaf);
      (void)VerifyConsistency(a, b, leaf, leaf, hashes);
      break;
    }
  }
  return 0;
}
