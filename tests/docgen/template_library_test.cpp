#include "server/docgen/template_library.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/docgen/package_builder.h"

namespace sendflow::docgen {
namespace {

namespace fs = std::filesystem;
using testing::makeDocx;
using testing::p;
using testing::r;
using testing::readPart;
using testing::XmlView;

class TemplateLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() / ("sendflow-library-" + std::to_string(::getpid()));
    fs::create_directories(folder_);
    write("note.docx", p(r("Theme: {{theme}}")));
  }
  void TearDown() override { fs::remove_all(folder_); }
  void write(const std::string& name, const std::string& body) {
    std::ofstream(folder_ / name, std::ios::binary) << makeDocx(body);
  }
  fs::path folder_;
};

TEST_F(TemplateLibraryTest, RendersANamedTemplateAndKeepsItCompiled) {
  TemplateLibrary library(folder_);
  auto doc = library.render("note.docx", {{"theme", "Transition"}});
  ASSERT_TRUE(doc.isOk()) << doc.status().toString();
  EXPECT_EQ(doc->extension, ".docx");
  EXPECT_EQ(XmlView(readPart(doc->bytes, "word/document.xml")).text("//w:body"),
            "Theme: Transition");
  auto first = library.get("note.docx");
  auto second = library.get("note.docx");
  ASSERT_TRUE(first.isOk() && second.isOk());
  EXPECT_EQ(first->get(), second->get());
}

TEST_F(TemplateLibraryTest, CompilesAgainWhenTheFileChanges) {
  TemplateLibrary library(folder_);
  ASSERT_TRUE(library.get("note.docx").isOk());
  write("note.docx", p(r("Changed theme: {{theme}} and more text")));
  fs::last_write_time(folder_ / "note.docx",
                      fs::file_time_type::clock::now() + std::chrono::seconds(5));
  auto doc = library.render("note.docx", {{"theme", "Inclusion"}});
  ASSERT_TRUE(doc.isOk());
  EXPECT_EQ(XmlView(readPart(doc->bytes, "word/document.xml")).text("//w:body"),
            "Changed theme: Inclusion and more text");
}

TEST_F(TemplateLibraryTest, RefusesPathsMissingFilesAndBrokenTemplates) {
  TemplateLibrary library(folder_);
  EXPECT_EQ(library.get("../note.docx").status().code(), core::StatusCode::kPermissionDenied);
  EXPECT_EQ(library.get("sub/note.docx").status().code(), core::StatusCode::kPermissionDenied);
  EXPECT_EQ(library.get("absent.docx").status().code(), core::StatusCode::kNotFound);
  EXPECT_EQ(library.get("macro.docm").status().code(), core::StatusCode::kInvalidArgument);
  write("broken.docx", p(r("{{#open}}")));
  auto broken = library.get("broken.docx");
  ASSERT_FALSE(broken.isOk());
  EXPECT_NE(broken.status().message().find("{{#open}} is opened here but never closed"),
            std::string::npos);
}

TEST_F(TemplateLibraryTest, RendersFromManyThreads) {
  TemplateLibrary library(folder_);
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 20; ++i) {
        const std::string theme = "T" + std::to_string(k * 100 + i);
        auto doc = library.render("note.docx", {{"theme", theme}});
        if (doc.isOk() && XmlView(readPart(doc->bytes, "word/document.xml")).text("//w:body") ==
                              "Theme: " + theme) {
          ++good;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 80);
}

}  // namespace
}  // namespace sendflow::docgen
