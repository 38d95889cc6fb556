#pragma once
// Converts a rendered document to PDF with LibreOffice (soffice --headless --convert-to pdf).
// Each call uses its own LibreOffice profile folder, so conversions may run concurrently.
// Blocks until LibreOffice exits or `timeout_seconds` pass (then it is killed).

#include <filesystem>
#include <string>

#include "server/core/status.h"

namespace sendflow::docgen {

struct PdfOptions {
  std::string soffice = "soffice";  // the LibreOffice binary, looked up on PATH
  int timeout_seconds = 120;
};

// Writes `output` (a .pdf) from `input` (.docx/.odt). kUnavailable when LibreOffice is not
// installed or fails; kDeadlineExceeded on timeout.
core::Status convertToPdf(const std::filesystem::path& input, const std::filesystem::path& output,
                          const PdfOptions& options = {});

}  // namespace sendflow::docgen
