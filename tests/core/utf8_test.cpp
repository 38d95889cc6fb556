#include "server/core/utf8.h"

#include <gtest/gtest.h>

namespace sendflow::core {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("plain ASCII"));
  EXPECT_TRUE(isValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // café € 😀
  EXPECT_TRUE(isValidUtf8("\xF4\x8F\xBF\xBF"));                           // U+10FFFF
  EXPECT_TRUE(isValidUtf8(std::string("a\0b", 3)));
}

TEST(Utf8Test, RefusesIllFormedText) {
  EXPECT_FALSE(isValidUtf8("caf\xE9"));           // Latin-1
  EXPECT_FALSE(isValidUtf8("\xC3"));              // cut short
  EXPECT_FALSE(isValidUtf8("\x80"));              // a stray continuation byte
  EXPECT_FALSE(isValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(isValidUtf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(isValidUtf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(isValidUtf8("\xFF"));
}

TEST(Utf8Test, ReplacesEachIllFormedPartOnce) {
  EXPECT_EQ(validUtf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(validUtf8("caf\xE9!"), "caf\xEF\xBF\xBD!");
  // A sequence cut short is one replacement; a stray byte after it another.
  EXPECT_EQ(validUtf8("\xE2\x82"
                      "A\x80"),
            "\xEF\xBF\xBD"
            "A\xEF\xBF\xBD");
  EXPECT_EQ(validUtf8("\xC3"), "\xEF\xBF\xBD");
  EXPECT_TRUE(isValidUtf8(validUtf8("\xFF\xFE\xED\xA0\x80\xF4\x90")));
}

}  // namespace
}  // namespace sendflow::core
