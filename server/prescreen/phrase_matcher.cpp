#include "server/prescreen/phrase_matcher.h"

#include <algorithm>
#include <deque>

namespace sendflow::prescreen {

PhraseMatcher::PhraseMatcher(const std::vector<std::string>& phrases) {
  nodes_.emplace_back();
  std::fill(std::begin(nodes_[0].next), std::end(nodes_[0].next), -1);
  for (const std::string& raw : phrases) {
    if (raw.empty()) continue;
    std::string phrase;
    phrase.reserve(raw.size());
    for (unsigned char c : raw) phrase.push_back(static_cast<char>(lowerAscii(c)));
    std::int32_t state = 0;
    for (unsigned char c : phrase) {
      if (nodes_[state].next[c] < 0) {
        nodes_[state].next[c] = static_cast<std::int32_t>(nodes_.size());
        nodes_.emplace_back();
        std::fill(std::begin(nodes_.back().next), std::end(nodes_.back().next), -1);
      }
      state = nodes_[state].next[c];
    }
    if (nodes_[state].phrase < 0) {
      nodes_[state].phrase = static_cast<std::int32_t>(phrases_.size());
      phrases_.push_back(std::move(phrase));
    }
  }
  // Breadth-first: complete the goto function into a full automaton.
  std::deque<std::int32_t> queue;
  for (int c = 0; c < 256; ++c) {
    std::int32_t& child = nodes_[0].next[c];
    if (child < 0) {
      child = 0;
    } else {
      nodes_[child].fail = 0;
      queue.push_back(child);
    }
  }
  while (!queue.empty()) {
    const std::int32_t state = queue.front();
    queue.pop_front();
    const std::int32_t fail = nodes_[state].fail;
    nodes_[state].output_link = nodes_[fail].phrase >= 0 ? fail : nodes_[fail].output_link;
    for (int c = 0; c < 256; ++c) {
      const std::int32_t child = nodes_[state].next[c];
      if (child < 0) {
        nodes_[state].next[c] = nodes_[fail].next[c];
      } else {
        nodes_[child].fail = nodes_[fail].next[c];
        queue.push_back(child);
      }
    }
  }
}

void PhraseMatcher::match(std::string_view text, std::vector<PhraseMatch>& out) const {
  std::int32_t state = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < text.size(); ++i) {
    state = nodes_[state].next[lowerAscii(bytes[i])];
    for (std::int32_t s = nodes_[state].phrase >= 0 ? state : nodes_[state].output_link; s >= 0;
         s = nodes_[s].output_link) {
      const std::size_t length = phrases_[nodes_[s].phrase].size();
      const std::size_t start = i + 1 - length;
      const bool starts_word = start == 0 || !isWordByte(bytes[start - 1]);
      const bool ends_word = i + 1 == text.size() || !isWordByte(bytes[i + 1]);
      if (starts_word && ends_word) {
        out.push_back(PhraseMatch{static_cast<std::size_t>(nodes_[s].phrase), start, length});
      }
    }
  }
}

}  // namespace sendflow::prescreen
