#pragma once
// Dates and time frames as plan writers put them in prose. Pure functions, thread-safe.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sendflow::prescreen {

using Date = std::chrono::sys_days;

struct DateMention {
  Date date;
  std::size_t offset = 0;  // where the date starts in the text
  std::size_t length = 0;
};

// Finds the full dates in `text`: "12 March 2025", "12th March, 2025", "March 12, 2025",
// "12/03/2025" (day first, as in England), "12.03.2025", "2025-03-12". Impossible dates
// ("31/02/2025") are skipped. Month-and-year alone ("July 2027") is not a full date.
std::vector<DateMention> findDates(std::string_view text);

// "2025-03-12" (optionally followed by a time, which is ignored). nullopt on anything else.
std::optional<Date> parseIsoDate(std::string_view text);
std::string formatIsoDate(Date date);

// True when an outcome states when it is to be achieved: "by the end of Year 6", "by July 2027",
// "by 31/07/2027", "within 12 months", "within the next term", "by the age of 16", "by the time
// she leaves primary school", "at the end of Key Stage 3", "over the next year".
bool hasTimeFrame(std::string_view text);

}  // namespace sendflow::prescreen
