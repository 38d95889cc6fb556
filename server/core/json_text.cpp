#include "server/core/json_text.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "server/core/utf8.h"

namespace sendflow::core {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxProblemBytes = 200;
constexpr std::size_t kMaxKeyBytes = 40;

// A pointer into the text that also records how far the parser has read, so the problems the
// builder finds itself (depth, duplicate keys) can name their line and column. nlohmann reads
// its input one byte at a time through an iterator pair.
class TrackedChar {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackedChar(const char* at, const char** read_up_to) : at_(at), read_up_to_(read_up_to) {}
  reference operator*() const { return *at_; }
  TrackedChar& operator++() {
    *read_up_to_ = ++at_;
    return *this;
  }
  TrackedChar operator++(int) {
    TrackedChar before = *this;
    ++*this;
    return before;
  }
  bool operator==(const TrackedChar& other) const { return at_ == other.at_; }
  bool operator!=(const TrackedChar& other) const { return at_ != other.at_; }

 private:
  const char* at_;
  const char** read_up_to_;
};

// "line 3, column 14" of byte `offset` (0-based) of `text`; columns count bytes.
std::string lineAndColumn(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  const std::string_view before = text.substr(0, offset);
  const std::size_t line =
      1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const std::size_t line_start = before.rfind('\n');
  const std::size_t column =
      offset - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// At most `limit` bytes of `text`, valid UTF-8, marked when shortened.
std::string excerpt(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return validUtf8(text);
  return validUtf8(text.substr(0, limit)) + "...";
}

// One step of a path: `name` (`.name` after the first), or `["odd key"]`.
void appendKey(std::string& path, const std::string& key) {
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
  if (plain && key.size() <= kMaxKeyBytes) {
    if (!path.empty()) path += '.';
    path += key;
  } else {
    path += "[" + json(excerpt(key, kMaxKeyBytes)).dump() + "]";
  }
}

// Builds the value from nlohmann's SAX events, as its own DOM parser does, and refuses what the
// limits and RFC 8259's "names SHOULD be unique" call for. The first problem stops the parse.
class BoundedBuilder {
 public:
  BoundedBuilder(std::string_view text, std::size_t max_depth, const char** read_up_to)
      : text_(text), max_depth_(max_depth), read_up_to_(read_up_to) {}

  json& value() { return root_; }
  const std::string& problem() const { return problem_; }

  bool null() { return add(nullptr); }
  bool boolean(bool v) { return add(v); }
  bool number_integer(json::number_integer_t v) { return add(v); }
  bool number_unsigned(json::number_unsigned_t v) { return add(v); }
  bool number_float(json::number_float_t v, const json::string_t& /*text*/) { return add(v); }
  bool string(json::string_t& v) { return add(std::move(v)); }
  bool binary(json::binary_t& v) { return add(json::binary(std::move(v))); }

  bool start_object(std::size_t /*size*/) { return open(json::value_t::object); }
  bool start_array(std::size_t /*size*/) { return open(json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& k) {
    json::object_t& object = open_.back()->get_ref<json::object_t&>();
    auto [at, inserted] = object.try_emplace(std::move(k));
    if (!inserted) {
      // try_emplace leaves `k` alone when the key is there already.
      return fail(keyOffset(), pathTo(open_.size() - 1, /*pending=*/false),
                  "duplicate key " + json(excerpt(k, kMaxKeyBytes)).dump());
    }
    member_ = &at->second;
    keys_.back() = &at->first;
    member_expected_ = true;
    return true;
  }

  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::json::exception& error) {
    // `position` counts the bytes read, the one that failed included.
    std::size_t offset = position > 0 ? position - 1 : 0;
    std::string what;
    if (error.id == 406) {  // out_of_range: a number beyond a double
      offset = position >= last_token.size() ? position - last_token.size() : 0;
      what = "the number " + excerpt(last_token, kMaxKeyBytes) + " is out of range";
    } else {
      // "[json.exception.parse_error.101] parse error at line 1, column 9: syntax error ..."
      what = error.what();
      if (auto close = what.find("] "); close != std::string::npos) what.erase(0, close + 2);
      if (what.rfind("parse error", 0) == 0) {
        if (auto colon = what.find(": "); colon != std::string::npos) what.erase(0, colon + 2);
      }
      // "; " separates problems in a Status message (http::errorBody reads them apart).
      for (std::size_t at = what.find("; "); at != std::string::npos; at = what.find("; ", at)) {
        what.replace(at, 2, ", ");
      }
    }
    return fail(offset, pathTo(open_.size(), /*pending=*/true), excerpt(what, kMaxProblemBytes));
  }

 private:
  template <typename Value>
  bool add(Value&& v) {
    place(std::forward<Value>(v));
    return true;
  }

  template <typename Value>
  json* place(Value&& v) {
    member_expected_ = false;
    if (open_.empty()) {
      root_ = json(std::forward<Value>(v));
      return &root_;
    }
    json& parent = *open_.back();
    if (parent.is_array()) {
      json::array_t& array = parent.get_ref<json::array_t&>();
      array.emplace_back(std::forward<Value>(v));
      return &array.back();
    }
    *member_ = json(std::forward<Value>(v));
    return member_;
  }

  bool open(json::value_t type) {
    if (open_.size() >= max_depth_) {
      // The bracket that opens one level too many was the last byte read.
      return fail(readOffset() - 1, pathTo(open_.size(), /*pending=*/true),
                  "more than " + std::to_string(max_depth_) + " levels of nesting");
    }
    open_.push_back(place(type));
    keys_.push_back(nullptr);
    return true;
  }

  bool close() {
    open_.pop_back();
    keys_.pop_back();
    member_expected_ = false;
    return true;
  }

  bool fail(std::size_t offset, const std::string& path, const std::string& what) {
    problem_ = (path.empty() ? "" : path + ": ") + lineAndColumn(text_, offset) + ": " + what;
    return false;
  }

  std::size_t readOffset() const { return static_cast<std::size_t>(*read_up_to_ - text_.data()); }

  // The opening quote of the key just read (the parser stops right after its closing quote).
  std::size_t keyOffset() const {
    std::size_t at = readOffset() >= 2 ? readOffset() - 2 : 0;
    while (at > 0) {
      if (text_[at] == '"') {
        std::size_t backslashes = 0;
        while (backslashes < at && text_[at - 1 - backslashes] == '\\') ++backslashes;
        if (backslashes % 2 == 0) return at;
      }
      --at;
    }
    return 0;
  }

  // The path through the first `levels` open containers. `pending`: the innermost one's next
  // element is being read (not yet added), rather than its last one; in an object, that is the
  // value of the key just read, if one was.
  std::string pathTo(std::size_t levels, bool pending) const {
    std::string path;
    for (std::size_t i = 0; i < levels; ++i) {
      const json& container = *open_[i];
      const bool last = i + 1 == levels;
      if (container.is_object()) {
        const bool key_done = last && pending && !member_expected_;
        if (keys_[i] != nullptr && !key_done) appendKey(path, *keys_[i]);
        continue;
      }
      std::size_t index = container.size();
      if (!(last && pending) && index > 0) --index;
      path += "[" + std::to_string(index) + "]";
    }
    return path;
  }

  std::string_view text_;
  std::size_t max_depth_;
  const char** read_up_to_;
  json root_;
  std::vector<json*> open_;               // the arrays and objects being filled, outermost first
  std::vector<const std::string*> keys_;  // per open container: its last key (objects)
  json* member_ = nullptr;                // the member the next value of an object goes to
  bool member_expected_ = false;          // a key was read and its value has not been yet
  std::string problem_;
};

}  // namespace

StatusOr<json> parseJsonText(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return invalidArgument("the text is " + std::to_string(text.size()) +
                           " bytes, more than the limit of " + std::to_string(limits.max_bytes));
  }
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return invalidArgument("line 1, column 1: empty text, a JSON value was expected");
  }
  const char* read_up_to = text.data();
  BoundedBuilder builder(text, limits.max_depth, &read_up_to);
  const bool parsed =
      json::sax_parse(TrackedChar(text.data(), &read_up_to),
                      TrackedChar(text.data() + text.size(), &read_up_to), &builder);
  if (!parsed) return invalidArgument(builder.problem());
  return std::move(builder.value());
}

StatusOr<json> parseStoredJson(std::string_view text, std::string_view what, json if_empty) {
  if (text.empty()) return if_empty;
  auto parsed = parseJsonText(text, kStoredJsonLimits);
  if (!parsed.isOk()) {
    return internalError(std::string(what) +
                         ": stored JSON is damaged: " + parsed.status().message());
  }
  return parsed;
}

}  // namespace sendflow::core
