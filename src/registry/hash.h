// Streaming SHA-256 of model files and the manifest digest over them.
//
// The manifest digest follows the OpenSSF model-signing v1.0 convention
// (the `files` serialization): every file of the model is hashed with
// SHA-256, the files are sorted by their path relative to the model root
// ('/'-separated), and the manifest digest is SHA-256 over the concatenated
// raw 32-byte file digests. Signature files and git metadata are excluded,
// as model-signing excludes them, so a model signed with model-signing gets
// the same digest here.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "steward/status.h"

namespace steward::registry {

struct FileDigest {
  std::string path;  // relative to the model root, '/'-separated
  uint64_t size = 0;
  std::string sha256_hex;  // lowercase hex
};

// Called while hashing: bytes hashed so far and the total, across all files.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

// SHA-256 of one file, streamed in large reads (OpenSSL EVP, which uses the
// CPU's SHA extensions when present). Sets *size to the bytes read.
Result<std::string> Sha256File(const std::string& path, uint64_t* size,
                               const ProgressFn& progress = {}, uint64_t progress_base = 0,
                               uint64_t progress_total = 0);

// A model file found under a root: absolute path and its manifest name.
struct ModelFile {
  std::string abs_path;
  std::string rel_path;
  uint64_t size = 0;
};

// The files of a model: `root` may be a single file (its name is the
// manifest path) or a directory walked recursively. Sorted by rel_path.
// Skips `.git*` entries and `model.sig` (model-signing's signature file).
Result<std::vector<ModelFile>> ListModelFiles(const std::string& root);

// Hashes every file of ListModelFiles(root).
Result<std::vector<FileDigest>> HashModelFiles(const std::vector<ModelFile>& files,
                                               const ProgressFn& progress = {});

// SHA-256 (hex) over the raw digests of `files` sorted by path.
std::string ManifestDigest(std::vector<FileDigest> files);

}  // namespace steward::registry
