#pragma once
// Finds every occurrence of a fixed list of phrases in a text in one pass (an Aho-Corasick
// automaton over bytes). Matching ignores ASCII case and only reports whole words: the bytes
// either side of a match must not be letters or digits, so "may" does not match "mayor".
//
// Built once, then immutable: match() is safe to call from many threads at once.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sendflow::prescreen {

struct PhraseMatch {
  std::size_t phrase = 0;  // index into the list given to the constructor
  std::size_t offset = 0;  // byte offset of the match in the text
  std::size_t length = 0;
};

class PhraseMatcher {
 public:
  // Empty phrases are ignored. Phrases are compared lower-cased.
  explicit PhraseMatcher(const std::vector<std::string>& phrases);

  const std::string& phrase(std::size_t index) const { return phrases_[index]; }
  std::size_t size() const { return phrases_.size(); }

  // Appends the whole-word matches in `text` to `out`, in order of their end position.
  void match(std::string_view text, std::vector<PhraseMatch>& out) const;

 private:
  struct Node {
    std::int32_t next[256];
    std::int32_t fail = 0;
    std::int32_t output_link = -1;  // nearest suffix node that ends a phrase
    std::int32_t phrase = -1;       // phrase ending exactly here
  };
  std::vector<std::string> phrases_;
  std::vector<Node> nodes_;
};

// ASCII lower-casing of one byte; other bytes unchanged.
inline unsigned char lowerAscii(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c + 32) : c;
}
inline bool isWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace sendflow::prescreen
