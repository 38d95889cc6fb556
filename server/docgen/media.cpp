#include "server/docgen/media.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>

#include "server/archive/zip_writer.h"
#include "server/docgen/value_format.h"

namespace sendflow::docgen {
namespace {

using nlohmann::json;

constexpr std::int64_t kEmuPerMm = 36000;
constexpr double kMaxWidthMm = 165.0;  // an A4 page inside 2.25 cm margins
constexpr std::uintmax_t kMaxPictureBytes = 20u << 20;

const char* kPalette[] = {"1F4E79", "2E8B57", "C55A11", "7030A0", "BF9000", "5B9BD5"};

struct Picture {
  std::string bytes;
  std::string extension;     // png, jpeg, gif
  std::string content_type;  // image/png ...
  std::uint32_t width_px = 0, height_px = 0;
};

bool sniff(Picture& p) {
  const std::string& b = p.bytes;
  auto u8 = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(b[i]));
  };
  if (b.size() >= 24 && b.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) {
    p.extension = "png";
    p.content_type = "image/png";
    p.width_px = (u8(16) << 24) | (u8(17) << 16) | (u8(18) << 8) | u8(19);
    p.height_px = (u8(20) << 24) | (u8(21) << 16) | (u8(22) << 8) | u8(23);
    return p.width_px > 0 && p.height_px > 0;
  }
  if (b.size() >= 10 && (b.compare(0, 6, "GIF87a") == 0 || b.compare(0, 6, "GIF89a") == 0)) {
    p.extension = "gif";
    p.content_type = "image/gif";
    p.width_px = u8(6) | (u8(7) << 8);
    p.height_px = u8(8) | (u8(9) << 8);
    return p.width_px > 0 && p.height_px > 0;
  }
  if (b.size() >= 4 && u8(0) == 0xFF && u8(1) == 0xD8) {
    p.extension = "jpeg";
    p.content_type = "image/jpeg";
    std::size_t i = 2;
    while (i + 9 < b.size()) {
      if (u8(i) != 0xFF) return false;
      const std::uint32_t marker = u8(i + 1);
      const std::uint32_t length = (u8(i + 2) << 8) | u8(i + 3);
      if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
        p.height_px = (u8(i + 5) << 8) | u8(i + 6);
        p.width_px = (u8(i + 7) << 8) | u8(i + 8);
        return p.width_px > 0 && p.height_px > 0;
      }
      i += 2 + length;
    }
  }
  return false;
}

std::string attr(std::string_view text) {
  std::string out;
  appendEscaped(out, text);
  return out;
}

std::string mm(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fmm", v);
  return buf;
}

double numberOr(const json& object, const char* key, double fallback) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : fallback;
}
std::string stringOr(const json& object, const char* key, const std::string& fallback) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

core::Status loadPicture(const json& value, const std::string& where,
                         const std::filesystem::path& resource_dir, Picture& picture) {
  std::string data;
  std::string path;
  if (value.is_string()) {
    data = value.get<std::string>();
  } else if (value.is_object()) {
    data = stringOr(value, "data", "");
    path = stringOr(value, "path", "");
  }
  if (data.empty() && path.empty()) {
    return core::invalidArgument(where +
                                 ": the picture needs \"data\" (base64 or a data: URI) or "
                                 "\"path\" (a file in the template's folder)");
  }
  if (!data.empty()) {
    std::string_view text = data;
    if (text.rfind("data:", 0) == 0) {
      const std::size_t comma = text.find(',');
      if (comma == std::string_view::npos ||
          text.substr(0, comma).find(";base64") == std::string_view::npos) {
        return core::invalidArgument(where + ": a data: URI picture must be base64-encoded");
      }
      text.remove_prefix(comma + 1);
    } else if (!value.is_object() && text.size() < 260 &&
               text.find('/') != std::string_view::npos && !decodeBase64(text, picture.bytes)) {
      path = data;  // "logos/torbay.png": a file name, not base64
    }
    if (path.empty() && !decodeBase64(text, picture.bytes)) {
      return core::invalidArgument(where + ": the picture data is not valid base64");
    }
  }
  if (!path.empty()) {
    if (resource_dir.empty()) {
      return core::permissionDenied(where + ": picture '" + path +
                                    "' is a file path, but this template has no folder for files");
    }
    std::error_code ec;
    const auto base = std::filesystem::weakly_canonical(resource_dir, ec);
    const auto file = std::filesystem::weakly_canonical(resource_dir / path, ec);
    const auto rel = file.lexically_relative(base);
    if (ec || rel.empty() || *rel.begin() == ".." || std::filesystem::path(path).is_absolute()) {
      return core::permissionDenied(where + ": picture '" + path +
                                    "' is outside the template's folder; it was not read");
    }
    const auto size = std::filesystem::file_size(file, ec);
    if (ec || !std::filesystem::is_regular_file(file)) {
      return core::notFound(where + ": picture file '" + path + "' does not exist");
    }
    if (size > kMaxPictureBytes) {
      return core::resourceExhausted(where + ": picture '" + path + "' is larger than 20 MiB");
    }
    std::ifstream in(file, std::ios::binary);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    picture.bytes = buffer.str();
  }
  if (picture.bytes.size() > kMaxPictureBytes) {
    return core::resourceExhausted(where + ": the picture is larger than 20 MiB");
  }
  if (!sniff(picture)) {
    return core::invalidArgument(where + ": the picture is not a PNG, JPEG or GIF image");
  }
  return core::Status::ok();
}

// Width and height in mm: as asked, else from the pixels at 96 dpi, within the page width.
void pictureSize(const json& value, const Picture& p, double& w, double& h) {
  const double aspect = static_cast<double>(p.height_px) / p.width_px;
  w = p.width_px * (25.4 / 96.0);
  h = p.height_px * (25.4 / 96.0);
  if (value.is_object()) {
    const double asked_w = numberOr(value, "width_mm", 0),
                 asked_h = numberOr(value, "height_mm", 0);
    if (asked_w > 0 && asked_h > 0) {
      w = asked_w;
      h = asked_h;
    } else if (asked_w > 0) {
      w = asked_w;
      h = asked_w * aspect;
    } else if (asked_h > 0) {
      h = asked_h;
      w = asked_h / aspect;
    }
  }
  if (w > kMaxWidthMm) {
    w = kMaxWidthMm;
    h = w * aspect;
  }
}

std::string docxInline(std::int64_t cx, std::int64_t cy, int id, const std::string& name,
                       const std::string& description, const std::string& graphic) {
  std::string out =
      "</w:t><w:drawing><wp:inline distT=\"0\" distB=\"0\" distL=\"0\" distR=\"0\" "
      "xmlns:wp=\"http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing\">";
  out += "<wp:extent cx=\"" + std::to_string(cx) + "\" cy=\"" + std::to_string(cy) + "\"/>";
  out += "<wp:docPr id=\"" + std::to_string(10000 + id) + "\" name=\"" + attr(name) +
         "\" descr=\"" + attr(description) + "\"/>";
  out += "<a:graphic xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\">" + graphic +
         "</a:graphic></wp:inline></w:drawing><w:t xml:space=\"preserve\">";
  return out;
}

struct ChartSpec {
  std::string type;  // bar, stacked-bar, line
  std::string title;
  std::vector<std::string> categories;
  std::vector<std::pair<std::string, std::vector<double>>> series;
  bool has_target = false;
  std::string target_label;
  double target = 0;
  double width_mm = 160, height_mm = 80;
};

core::Status parseChart(const json& v, const std::string& where, ChartSpec& c) {
  if (!v.is_object()) return core::invalidArgument(where + ": a chart must be an object");
  c.type = stringOr(v, "type", "bar");
  if (c.type != "bar" && c.type != "stacked-bar" && c.type != "line") {
    return core::invalidArgument(where + ": chart type '" + c.type +
                                 "' is not one of bar, stacked-bar, line");
  }
  c.title = stringOr(v, "title", "");
  c.width_mm = std::clamp(numberOr(v, "width_mm", 160), 20.0, kMaxWidthMm);
  c.height_mm = std::clamp(numberOr(v, "height_mm", 80), 20.0, 250.0);
  auto cats = v.find("categories");
  if (cats == v.end() || !cats->is_array() || cats->empty()) {
    return core::invalidArgument(where + ": a chart needs \"categories\", a non-empty list");
  }
  for (const json& cat : *cats) {
    std::string error;
    c.categories.push_back(formatValue(&cat, {}, error));
  }
  auto series = v.find("series");
  if (series == v.end() || !series->is_array() || series->empty()) {
    return core::invalidArgument(where + ": a chart needs \"series\", a non-empty list");
  }
  for (std::size_t i = 0; i < series->size(); ++i) {
    const json& s = (*series)[i];
    auto values = s.is_object() ? s.find("values") : s.end();
    if (!s.is_object() || values == s.end() || !values->is_array()) {
      return core::invalidArgument(where + ": chart series " + std::to_string(i + 1) +
                                   " needs \"values\", a list of numbers");
    }
    std::vector<double> numbers;
    for (const json& n : *values) numbers.push_back(n.is_number() ? n.get<double>() : 0.0);
    numbers.resize(c.categories.size(), 0.0);
    c.series.emplace_back(stringOr(s, "name", "Series " + std::to_string(i + 1)),
                          std::move(numbers));
  }
  auto target = v.find("target");
  if (target != v.end() && target->is_object() && target->contains("value")) {
    c.has_target = true;
    c.target = numberOr(*target, "value", 0);
    c.target_label = stringOr(*target, "label", "Target");
  }
  return core::Status::ok();
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string columnLetter(std::size_t i) { return std::string(1, static_cast<char>('B' + i)); }

std::string docxSeries(const ChartSpec& c, std::size_t index, const std::string& name,
                       const std::vector<double>& values, const std::string& colour, bool line,
                       bool dashed) {
  const std::string col = columnLetter(index);
  const std::string last_row = std::to_string(c.categories.size() + 1);
  std::string s = "<c:ser><c:idx val=\"" + std::to_string(index) + "\"/><c:order val=\"" +
                  std::to_string(index) + "\"/>";
  s += "<c:tx><c:strRef><c:f>Sheet1!$" + col +
       "$1</c:f><c:strCache><c:ptCount val=\"1\"/>"
       "<c:pt idx=\"0\"><c:v>" +
       attr(name) + "</c:v></c:pt></c:strCache></c:strRef></c:tx>";
  if (line) {
    s += "<c:spPr><a:ln w=\"28575\"><a:solidFill><a:srgbClr val=\"" + colour +
         "\"/></a:solidFill>" + (dashed ? "<a:prstDash val=\"dash\"/>" : "") + "</a:ln></c:spPr>";
    s += dashed ? "<c:marker><c:symbol val=\"none\"/></c:marker>"
                : "<c:marker><c:symbol val=\"circle\"/></c:marker>";
  } else {
    s += "<c:spPr><a:solidFill><a:srgbClr val=\"" + colour + "\"/></a:solidFill></c:spPr>";
    s += "<c:invertIfNegative val=\"0\"/>";
  }
  s += "<c:cat><c:strRef><c:f>Sheet1!$A$2:$A$" + last_row + "</c:f><c:strCache><c:ptCount val=\"" +
       std::to_string(c.categories.size()) + "\"/>";
  for (std::size_t i = 0; i < c.categories.size(); ++i) {
    s += "<c:pt idx=\"" + std::to_string(i) + "\"><c:v>" + attr(c.categories[i]) + "</c:v></c:pt>";
  }
  s += "</c:strCache></c:strRef></c:cat><c:val><c:numRef><c:f>Sheet1!$" + col + "$2:$" + col + "$" +
       last_row + "</c:f><c:numCache><c:formatCode>General</c:formatCode><c:ptCount val=\"" +
       std::to_string(values.size()) + "\"/>";
  for (std::size_t i = 0; i < values.size(); ++i) {
    s += "<c:pt idx=\"" + std::to_string(i) + "\"><c:v>" + number(values[i]) + "</c:v></c:pt>";
  }
  s += "</c:numCache></c:numRef></c:val>";
  if (line) s += "<c:smooth val=\"0\"/>";
  s += "</c:ser>";
  return s;
}

// The chart's numbers as a small workbook, embedded so that Word's "Edit Data" opens them.
std::string chartWorkbook(const ChartSpec& c) {
  auto cellText = [](const std::string& ref, const std::string& text) {
    return "<c r=\"" + ref + "\" t=\"inlineStr\"><is><t>" + attr(text) + "</t></is></c>";
  };
  std::string sheet =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<worksheet "
      "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData><row "
      "r=\"1\">";
  for (std::size_t s = 0; s < c.series.size(); ++s)
    sheet += cellText(columnLetter(s) + "1", c.series[s].first);
  if (c.has_target) sheet += cellText(columnLetter(c.series.size()) + "1", c.target_label);
  sheet += "</row>";
  for (std::size_t r = 0; r < c.categories.size(); ++r) {
    const std::string row = std::to_string(r + 2);
    sheet += "<row r=\"" + row + "\">" + cellText("A" + row, c.categories[r]);
    for (std::size_t s = 0; s < c.series.size(); ++s) {
      sheet +=
          "<c r=\"" + columnLetter(s) + row + "\"><v>" + number(c.series[s].second[r]) + "</v></c>";
    }
    if (c.has_target) {
      sheet += "<c r=\"" + columnLetter(c.series.size()) + row + "\"><v>" + number(c.target) +
               "</v></c>";
    }
    sheet += "</row>";
  }
  sheet += "</sheetData></worksheet>";
  archive::ZipWriter zip;
  (void)zip.add(
      "[Content_Types].xml",
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Types xmlns=\"http:"
      "//schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" "
      "ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default "
      "Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/xl/"
      "workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument."
      "spreadsheetml.sheet.main+xml\"/><Override PartName=\"/xl/worksheets/sheet1.xml\" "
      "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml."
      "worksheet+xml\"/></Types>");
  (void)zip.add(
      "_rels/.rels",
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships "
      "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship "
      "Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
      "relationships/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>");
  (void)zip.add("xl/workbook.xml",
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<workbook xmlns="
                "\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://"
                "schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets><sheet "
                "name=\"Sheet1\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>");
  (void)zip.add(
      "xl/_rels/workbook.xml.rels",
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships "
      "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship "
      "Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
      "relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>");
  (void)zip.add("xl/worksheets/sheet1.xml", sheet);
  auto bytes = zip.close();
  return bytes.isOk() ? std::move(*bytes) : std::string();
}

std::string docxChartPart(const ChartSpec& c) {
  std::string x =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<c:chartSpace "
      "xmlns:c=\"http://schemas.openxmlformats.org/drawingml/2006/chart\" "
      "xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" "
      "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
      "<c:roundedCorners val=\"0\"/><c:chart>";
  if (!c.title.empty()) {
    x += "<c:title><c:tx><c:rich><a:bodyPr/><a:p><a:r><a:t>" + attr(c.title) +
         "</a:t></a:r></a:p></c:rich></c:tx><c:overlay val=\"0\"/></c:title><c:autoTitleDeleted "
         "val=\"0\"/>";
  } else {
    x += "<c:autoTitleDeleted val=\"1\"/>";
  }
  x += "<c:plotArea><c:layout/>";
  const bool line = c.type == "line";
  const std::string axes = "<c:axId val=\"50010\"/><c:axId val=\"50020\"/>";
  std::vector<double> target(c.categories.size(), c.target);
  if (line) {
    x += "<c:lineChart><c:grouping val=\"standard\"/><c:varyColors val=\"0\"/>";
  } else {
    x += "<c:barChart><c:barDir val=\"col\"/><c:grouping val=\"" +
         std::string(c.type == "stacked-bar" ? "stacked" : "clustered") +
         "\"/><c:varyColors val=\"0\"/>";
  }
  for (std::size_t i = 0; i < c.series.size(); ++i) {
    x += docxSeries(c, i, c.series[i].first, c.series[i].second, kPalette[i % 6], line, false);
  }
  if (line) {
    if (c.has_target)
      x += docxSeries(c, c.series.size(), c.target_label, target, "C00000", true, true);
    x += "<c:marker val=\"1\"/>" + axes + "</c:lineChart>";
  } else {
    x += "<c:gapWidth val=\"80\"/>";
    if (c.type == "stacked-bar") x += "<c:overlap val=\"100\"/>";
    x += axes + "</c:barChart>";
    if (c.has_target) {
      x += "<c:lineChart><c:grouping val=\"standard\"/><c:varyColors val=\"0\"/>" +
           docxSeries(c, c.series.size(), c.target_label, target, "C00000", true, true) +
           "<c:marker val=\"1\"/>" + axes + "</c:lineChart>";
    }
  }
  x += "<c:catAx><c:axId val=\"50010\"/><c:scaling><c:orientation val=\"minMax\"/></c:scaling>"
       "<c:delete val=\"0\"/><c:axPos val=\"b\"/><c:numFmt formatCode=\"General\" "
       "sourceLinked=\"0\"/>"
       "<c:tickLblPos val=\"nextTo\"/><c:crossAx val=\"50020\"/><c:crosses val=\"autoZero\"/>"
       "<c:auto val=\"1\"/><c:lblAlgn val=\"ctr\"/><c:lblOffset val=\"100\"/></c:catAx>"
       "<c:valAx><c:axId val=\"50020\"/><c:scaling><c:orientation val=\"minMax\"/></c:scaling>"
       "<c:delete val=\"0\"/><c:axPos val=\"l\"/><c:majorGridlines/><c:numFmt "
       "formatCode=\"General\" "
       "sourceLinked=\"0\"/><c:tickLblPos val=\"nextTo\"/><c:crossAx val=\"50010\"/>"
       "<c:crosses val=\"autoZero\"/><c:crossBetween val=\"between\"/></c:valAx></c:plotArea>"
       "<c:legend><c:legendPos val=\"b\"/><c:overlay val=\"0\"/></c:legend><c:plotVisOnly "
       "val=\"1\"/>"
       "<c:dispBlanksAs val=\"gap\"/></c:chart><c:externalData r:id=\"rId1\"><c:autoUpdate "
       "val=\"0\"/></c:externalData></c:chartSpace>";
  return x;
}

std::string odtCell(const std::string& text) {
  return "<table:table-cell office:value-type=\"string\"><text:p>" + attr(text) +
         "</text:p></table:table-cell>";
}
std::string odtNumberCell(double v) {
  return "<table:table-cell office:value-type=\"float\" office:value=\"" + number(v) +
         "\"><text:p>" + number(v) + "</text:p></table:table-cell>";
}

std::string odtChartObject(const ChartSpec& c) {
  const bool line = c.type == "line";
  const std::size_t columns = c.series.size() + (c.has_target ? 1 : 0);
  const std::string last_row = std::to_string(c.categories.size() + 1);
  std::string x =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<office:document-content "
      "xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" "
      "xmlns:style=\"urn:oasis:names:tc:opendocument:xmlns:style:1.0\" "
      "xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" "
      "xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" "
      "xmlns:draw=\"urn:oasis:names:tc:opendocument:xmlns:drawing:1.0\" "
      "xmlns:fo=\"urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0\" "
      "xmlns:svg=\"urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0\" "
      "xmlns:chart=\"urn:oasis:names:tc:opendocument:xmlns:chart:1.0\" "
      "xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
      "office:version=\"1.2\"><office:automatic-styles>";
  x +=
      "<style:style style:name=\"plot\" style:family=\"chart\"><style:chart-properties "
      "chart:stacked=\"" +
      std::string(c.type == "stacked-bar" ? "true" : "false") +
      "\" chart:vertical=\"false\" chart:symbol-type=\"automatic\"/></style:style>"
      "<style:style style:name=\"axis\" style:family=\"chart\"><style:chart-properties "
      "chart:display-label=\"true\" chart:tick-marks-major-outer=\"true\"/><style:text-properties "
      "fo:font-size=\"8pt\"/></style:style><style:style style:name=\"wall\" style:family=\"chart\">"
      "<style:graphic-properties draw:fill=\"none\" draw:stroke=\"none\"/></style:style>";
  for (std::size_t i = 0; i < columns; ++i) {
    const bool target = i == c.series.size();
    const std::string colour = target ? "C00000" : kPalette[i % 6];
    x += "<style:style style:name=\"s" + std::to_string(i) + "\" style:family=\"chart\">" +
         "<style:chart-properties" + std::string(target ? " chart:symbol-type=\"none\"" : "") +
         "/><style:graphic-properties draw:fill-color=\"#" + colour + "\" svg:stroke-color=\"#" +
         colour + "\" svg:stroke-width=\"0.08cm\"" +
         (target ? " draw:stroke=\"dash\" draw:stroke-dash=\"Dash\"" : "") + "/></style:style>";
  }
  x += "</office:automatic-styles><office:body><office:chart>";
  x += "<chart:chart svg:width=\"" + mm(c.width_mm) + "\" svg:height=\"" + mm(c.height_mm) +
       "\" chart:class=\"chart:" + (line ? "line" : "bar") + "\">";
  if (!c.title.empty()) x += "<chart:title><text:p>" + attr(c.title) + "</text:p></chart:title>";
  x += "<chart:legend chart:legend-position=\"bottom\" style:legend-expansion=\"wide\"/>";
  x += "<chart:plot-area chart:style-name=\"plot\" chart:data-source-has-labels=\"both\" "
       "table:cell-range-address=\"local-table.$A$1:.$" +
       columnLetter(columns - 1) + "$" + last_row + "\">";
  x += "<chart:axis chart:dimension=\"x\" chart:name=\"primary-x\" "
       "chart:style-name=\"axis\"><chart:categories "
       "table:cell-range-address=\"local-table.$A$2:.$A$" +
       last_row + "\"/></chart:axis>";
  x += "<chart:axis chart:dimension=\"y\" chart:name=\"primary-y\" "
       "chart:style-name=\"axis\"><chart:grid "
       "chart:class=\"major\"/></chart:axis>";
  for (std::size_t i = 0; i < columns; ++i) {
    const bool target = i == c.series.size();
    const std::string col = columnLetter(i);
    x += "<chart:series chart:style-name=\"s" + std::to_string(i) +
         "\" chart:values-cell-range-address=\"local-table.$" + col + "$2:.$" + col + "$" +
         last_row + "\" chart:label-cell-address=\"local-table.$" + col +
         "$1\" chart:class=\"chart:" + (line || target ? "line" : "bar") +
         "\"><chart:data-point chart:repeated=\"" + std::to_string(c.categories.size()) +
         "\"/></chart:series>";
  }
  x += "<chart:wall chart:style-name=\"wall\"/><chart:floor/></chart:plot-area>";
  x += "<table:table table:name=\"local-table\"><table:table-header-columns><table:table-column/>"
       "</table:table-header-columns><table:table-columns><table:table-column "
       "table:number-columns-repeated=\"" +
       std::to_string(columns) + "\"/></table:table-columns>";
  x += "<table:table-header-rows><table:table-row><table:table-cell><text:p/></table:table-cell>";
  for (const auto& s : c.series) x += odtCell(s.first);
  if (c.has_target) x += odtCell(c.target_label);
  x += "</table:table-row></table:table-header-rows><table:table-rows>";
  for (std::size_t r = 0; r < c.categories.size(); ++r) {
    x += "<table:table-row>" + odtCell(c.categories[r]);
    for (const auto& s : c.series) x += odtNumberCell(s.second[r]);
    if (c.has_target) x += odtNumberCell(c.target);
    x += "</table:table-row>";
  }
  x += "</table:table-rows></table:table></chart:chart></office:chart></office:body>"
       "</office:document-content>";
  return x;
}

}  // namespace

bool decodeBase64(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  bool padding = false;
  for (const char ch : text) {
    int v;
    if (ch >= 'A' && ch <= 'Z')
      v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z')
      v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9')
      v = ch - '0' + 52;
    else if (ch == '+' || ch == '-')
      v = 62;
    else if (ch == '/' || ch == '_')
      v = 63;
    else if (ch == '=') {
      padding = true;
      continue;
    } else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
      continue;
    else
      return false;
    if (padding) return false;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return !out.empty();
}

core::Status renderImage(const json* value, const std::string& where, const std::string& part,
                         DocumentFormat format, const std::filesystem::path& resource_dir,
                         RenderedMedia& media, std::string& out) {
  if (value == nullptr || value->is_null()) return core::Status::ok();
  Picture picture;
  SENDFLOW_RETURN_IF_ERROR(loadPicture(*value, where, resource_dir, picture));
  double w = 0, h = 0;
  pictureSize(*value, picture, w, h);
  const std::string description =
      value->is_object() ? stringOr(*value, "description", "Picture") : "Picture";
  const int id = media.next_id++;
  const std::string file = "sf_image" + std::to_string(id) + "." + picture.extension;
  if (format == DocumentFormat::kDocx) {
    const std::string rid = "rIdSf" + std::to_string(id);
    media.parts.push_back(
        {"word/media/" + file, std::move(picture.bytes), picture.extension != "gif"});
    media.relationships[part].push_back(
        {rid, "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image",
         "media/" + file});
    media.content_defaults[picture.extension] = picture.content_type;
    const auto cx = static_cast<std::int64_t>(std::llround(w * kEmuPerMm));
    const auto cy = static_cast<std::int64_t>(std::llround(h * kEmuPerMm));
    std::string graphic =
        "<a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/picture\"><pic:pic "
        "xmlns:pic=\"http://schemas.openxmlformats.org/drawingml/2006/picture\"><pic:nvPicPr>"
        "<pic:cNvPr id=\"" +
        std::to_string(10000 + id) + "\" name=\"" + file +
        "\"/><pic:cNvPicPr/>"
        "</pic:nvPicPr><pic:blipFill><a:blip r:embed=\"" +
        rid +
        "\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"/>"
        "<a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x=\"0\" "
        "y=\"0\"/>"
        "<a:ext cx=\"" +
        std::to_string(cx) + "\" cy=\"" + std::to_string(cy) +
        "\"/></a:xfrm>"
        "<a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData>";
    out += docxInline(cx, cy, id, "Picture " + std::to_string(id), description, graphic);
  } else {
    const std::string path = "Pictures/" + file;
    media.manifest.emplace_back(path, picture.content_type);
    media.parts.push_back({path, std::move(picture.bytes), true});
    out +=
        "<draw:frame xmlns:draw=\"urn:oasis:names:tc:opendocument:xmlns:drawing:1.0\" "
        "xmlns:svg=\"urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0\" "
        "xmlns:xlink=\"http://www.w3.org/1999/xlink\" draw:name=\"Picture " +
        std::to_string(id) + "\" text:anchor-type=\"as-char\" svg:width=\"" + mm(w) +
        "\" svg:height=\"" + mm(h) + "\" draw:z-index=\"0\"><draw:image xlink:href=\"" + path +
        "\" xlink:type=\"simple\" xlink:show=\"embed\" xlink:actuate=\"onLoad\"/><svg:desc>" +
        attr(description) + "</svg:desc></draw:frame>";
  }
  return core::Status::ok();
}

core::Status renderChart(const json* value, const std::string& where, const std::string& part,
                         DocumentFormat format, RenderedMedia& media, std::string& out) {
  if (value == nullptr || value->is_null()) return core::Status::ok();
  ChartSpec chart;
  SENDFLOW_RETURN_IF_ERROR(parseChart(*value, where, chart));
  const int id = media.next_id++;
  if (format == DocumentFormat::kDocx) {
    const std::string rid = "rIdSf" + std::to_string(id);
    const std::string name = "charts/sf_chart" + std::to_string(id) + ".xml";
    const std::string workbook = "embeddings/sf_chart" + std::to_string(id) + ".xlsx";
    media.parts.push_back({"word/" + name, docxChartPart(chart), false});
    media.parts.push_back({"word/" + workbook, chartWorkbook(chart), true});
    media.parts.push_back(
        {"word/charts/_rels/sf_chart" + std::to_string(id) + ".xml.rels",
         "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns="
         "\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship "
         "Id=\"rId1\" "
         "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/package\" "
         "Target=\"../" +
             workbook + "\"/></Relationships>",
         false});
    media.content_defaults["xlsx"] =
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    media.relationships[part].push_back(
        {rid, "http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart", name});
    media.content_overrides["/word/" + name] =
        "application/vnd.openxmlformats-officedocument.drawingml.chart+xml";
    const auto cx = static_cast<std::int64_t>(std::llround(chart.width_mm * kEmuPerMm));
    const auto cy = static_cast<std::int64_t>(std::llround(chart.height_mm * kEmuPerMm));
    const std::string graphic =
        "<a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/chart\"><c:chart "
        "xmlns:c=\"http://schemas.openxmlformats.org/drawingml/2006/chart\" "
        "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" r:id=\"" +
        rid + "\"/></a:graphicData>";
    out += docxInline(cx, cy, id, "Chart " + std::to_string(id),
                      chart.title.empty() ? "Chart" : chart.title, graphic);
  } else {
    const std::string dir = "Object sf" + std::to_string(id);
    media.parts.push_back({dir + "/content.xml", odtChartObject(chart), false});
    media.manifest.emplace_back(dir + "/", "application/vnd.oasis.opendocument.chart");
    media.manifest.emplace_back(dir + "/content.xml", "text/xml");
    out +=
        "<draw:frame xmlns:draw=\"urn:oasis:names:tc:opendocument:xmlns:drawing:1.0\" "
        "xmlns:svg=\"urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0\" "
        "xmlns:xlink=\"http://www.w3.org/1999/xlink\" draw:name=\"Chart " +
        std::to_string(id) + "\" text:anchor-type=\"as-char\" svg:width=\"" + mm(chart.width_mm) +
        "\" svg:height=\"" + mm(chart.height_mm) +
        "\" draw:z-index=\"0\"><draw:object xlink:href=\"./" + dir +
        "\" xlink:type=\"simple\" xlink:show=\"embed\" xlink:actuate=\"onLoad\"/></draw:frame>";
  }
  return core::Status::ok();
}

}  // namespace sendflow::docgen
