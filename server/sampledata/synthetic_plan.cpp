#include "server/sampledata/synthetic_plan.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <string_view>

namespace sendflow::sampledata {
namespace {

using Date = std::chrono::sys_days;

// SplitMix64: small, fast, and the same sequence everywhere (unlike std:: distributions).
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  int below(int n) { return static_cast<int>((next() >> 33) % static_cast<std::uint64_t>(n)); }
  // Uniform in [lo, hi].
  int between(int lo, int hi) { return lo + below(hi - lo + 1); }
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(below(static_cast<int>(items.size())))];
  }

 private:
  std::uint64_t state_;
};

const std::vector<std::string> kFirstNames = {
    "Amira", "Ben",    "Chloe", "Dev",   "Ella",  "Finn",  "Grace",  "Hassan", "Isla",  "Jacob",
    "Kai",   "Layla",  "Mason", "Nadia", "Oscar", "Priya", "Reuben", "Sofia",  "Tariq", "Una",
    "Vinny", "Willow", "Yusuf", "Zara",  "Aled",  "Bea",   "Callum", "Darcy",  "Eshan", "Freya",
    "Gus",   "Hana",   "Iqra",  "Jude",  "Kezia", "Leo",   "Maisie", "Noah",   "Ola",   "Rosa"};

const std::vector<std::string> kLocalities = {"Northern Fells",   "Riverside", "Town Centre",
                                              "Eastern Villages", "Coastal",   "Southern Vale"};

const std::vector<std::string> kPrimarySettings = {"Oakfield Primary School",
                                                   "St Aidan's CE Primary School",
                                                   "Riverside Infant and Junior School",
                                                   "Hillview Primary Academy",
                                                   "Moorside Community Primary School",
                                                   "Brookside Special School"};
const std::vector<std::string> kSecondarySettings = {
    "Northgate High School", "Meadowbank Academy", "Castle View School", "Brookside Special School",
    "Harbour Secondary School"};
const std::vector<std::string> kPost16Settings = {"Eastfield College", "Northgate Sixth Form",
                                                  "Brookside Special School Post-16",
                                                  "Vale Specialist College"};

const std::vector<std::string> kInterests = {
    "drawing", "swimming", "Lego",           "trains",  "football",  "music",
    "animals", "cooking",  "computer games", "dancing", "dinosaurs", "gardening"};

const std::array<const char*, 12> kMonthNames = {"January",   "February", "March",    "April",
                                                 "May",       "June",     "July",     "August",
                                                 "September", "October",  "November", "December"};

std::string iso(Date d) {
  const std::chrono::year_month_day ymd{d};
  char b[16];
  std::snprintf(b, sizeof b, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return b;
}
// "12 March 2025"
std::string longDate(Date d) {
  const std::chrono::year_month_day ymd{d};
  return std::to_string(static_cast<unsigned>(ymd.day())) + " " +
         kMonthNames[static_cast<unsigned>(ymd.month()) - 1] + " " +
         std::to_string(static_cast<int>(ymd.year()));
}
// "12/03/2025"
std::string slashDate(Date d) {
  const std::chrono::year_month_day ymd{d};
  char b[16];
  std::snprintf(b, sizeof b, "%02u/%02u/%04d", static_cast<unsigned>(ymd.day()),
                static_cast<unsigned>(ymd.month()), static_cast<int>(ymd.year()));
  return b;
}
int yearOf(Date d) { return static_cast<int>(std::chrono::year_month_day{d}.year()); }

std::string id(const char* prefix, int n) {
  char b[16];
  std::snprintf(b, sizeof b, "%s-%03d", prefix, n);
  return b;
}

std::string yearName(int year_group) {
  return year_group == 0 ? "Reception" : "Year " + std::to_string(year_group);
}

struct Pronouns {
  const char* subject;     // she
  const char* object;      // her
  const char* possessive;  // her
  const char* Subject;     // She
};
constexpr Pronouns kShe{"she", "her", "her", "She"};
constexpr Pronouns kHe{"he", "him", "his", "He"};
constexpr Pronouns kThey{"they", "them", "their", "They"};

// The headings' wording and mark-up, fixed per plan as a council's template would be.
struct HeadingStyle {
  int variant = 0;
  HeadingLook look = HeadingLook::kStyle;
};

constexpr std::array<const char*, 11> kTitles = {"Views, interests and aspirations",
                                                 "Special educational needs",
                                                 "Health needs",
                                                 "Social care needs",
                                                 "Outcomes",
                                                 "Special educational provision",
                                                 "Health provision",
                                                 "Social care provision",
                                                 "Placement",
                                                 "Personal budget",
                                                 "Advice and information"};

std::string headingText(char letter, const char* title, int variant) {
  const std::string l(1, letter);
  switch (variant) {
    case 0:
      return "Section " + l + ": " + title;
    case 1:
      return "Section " + l + " \xE2\x80\x93 " + title;  // en dash
    case 2:
      return l + ": " + title;
    default:
      return l + " - " + title;
  }
}

// A vague sentence and the phrases pre-screening must quote from it.
struct VagueSentence {
  const char* text;  // "{n}" is the child's name
  std::vector<std::string> phrases;
};
const std::vector<VagueSentence>& vagueSentences() {
  static const std::vector<VagueSentence> kSentences = {
      {"{n} will have access to a quiet space as required.", {"access to", "as required"}},
      {"{n} should receive regular help from a teaching assistant.", {"should", "regular"}},
      {"{n} will be given opportunities to practise social skills with peers.", {"opportunities"}},
      {"Up to 10 hours of adult help may be provided each week.", {"up to", "may"}},
      {"Advice from the occupational therapist will be followed as appropriate.",
       {"as appropriate"}},
      {"Staff will check in with {n} at the start of the day where possible.", {"where possible"}},
      {"{n} would benefit from small group work for literacy.", {"would benefit from"}},
      {"Speech and language therapy input from the community team.", {"input from"}},
      {"A movement break could be offered when {n} becomes unsettled.", {"could"}},
  };
  return kSentences;
}

std::string withName(std::string text, const std::string& name) {
  for (std::size_t at = text.find("{n}"); at != std::string::npos; at = text.find("{n}")) {
    text.replace(at, 3, name);
  }
  return text;
}

struct Advice {
  const char* type;  // as listed in section K and as the advice's DocumentType
  const char* document_type;
  const char* author_prefix;
  int author = 0;
  Date date;
  bool in_library = false;
};

struct Plan {
  std::string name;
  Pronouns p;
  int year_group = 0;
  std::string setting;
  std::string locality;
  std::string plan_ref;
  std::string caseworker;
  Date request;
  Date request_for_advice;
  Date finalised;
  std::vector<Advice> advice;
  std::string interest1, interest2;
  int need = 0;  // primary need area
};

void sectionHeading(WordDocument& doc, int section, const HeadingStyle& style,
                    const PlanFlaws& flaws) {
  const char letter = static_cast<char>('A' + section);
  const char* title = kTitles[static_cast<std::size_t>(section)];
  if (flaws.unlabelled_section == letter) {
    doc.heading(title, 1, style.look);
  } else {
    doc.heading(headingText(letter, title, style.variant), 1, style.look);
  }
}

void writeSectionA(WordDocument& d, const Plan& c, Random& r) {
  d.heading("About me", 2, HeadingLook::kBold);
  d.paragraph(c.name + " is in " + yearName(c.year_group) + " at " + c.setting + ". " +
              c.p.Subject + " enjoys " + c.interest1 + " and " + c.interest2 +
              ", and people who know " + c.p.object + " well describe " + c.p.object +
              " as kind, funny and determined.");
  d.paragraph(c.name + " said: \"I like " + c.interest1 +
              ". I feel happy when I know what is happening next. I do not like loud rooms.\"");
  static const std::vector<std::string> aspirations = {
      "work with animals",          "be a chef",  "drive a bus",
      "make video games",           "be a nurse", "play football for a team",
      "live in a flat with friends"};
  d.paragraph("When asked about the future, " + c.name + " said " + c.p.subject +
              " would like to " + r.pick(aspirations) + ".");
  d.heading("What my family say", 2, HeadingLook::kBold);
  d.paragraph(c.name + "'s parents said that " + c.p.subject + " is at " + c.p.possessive +
              " best with a calm start to the day and clear routines. They would like " +
              c.p.object + " to make friends and to feel confident in lessons.");
}

void writeSectionB(WordDocument& d, const Plan& c) {
  static const std::array<const char*, 4> kAreas = {
      "Communication and interaction", "Cognition and learning",
      "Social, emotional and mental health", "Sensory and physical"};
  d.paragraph(c.name + "'s primary area of need is " + kAreas[static_cast<std::size_t>(c.need)] +
              ".");
  d.heading("Communication and interaction", 2, HeadingLook::kBold);
  d.paragraph(c.name +
              " understands instructions of two to three key words when they are given "
              "with visual prompts. " +
              c.p.Subject +
              " finds it hard to follow group conversations and to explain what has happened.");
  d.heading("Cognition and learning", 2, HeadingLook::kBold);
  d.paragraph(c.name + " is working below age-related expectations in reading and writing. " +
              c.p.Subject +
              " can blend three-letter words and recognises 40 high-frequency words.");
  d.heading("Social, emotional and mental health", 2, HeadingLook::kBold);
  d.paragraph(c.name +
              " becomes anxious during unstructured times such as lunch and transitions "
              "between lessons, and may leave the room when " +
              c.p.subject + " feels overwhelmed.");
  d.heading("Sensory and physical", 2, HeadingLook::kBold);
  d.paragraph(c.name + " is sensitive to noise and finds crowded spaces difficult. " + c.p.Subject +
              " has low muscle tone and tires when writing by hand.");
}

void writeSectionC(WordDocument& d, const Plan& c, Random& r) {
  if (r.chance(0.3)) {
    d.paragraph(c.name + " has no identified health needs that relate to " + c.p.possessive +
                " special educational needs.");
    return;
  }
  d.paragraph(
      c.name +
      " has a diagnosis of autism spectrum condition, made by the child "
      "development centre. " +
      c.p.Subject +
      " is seen by the community paediatrician once a year and takes no regular medication.");
}

void writeSectionD(WordDocument& d, const Plan& c, Random& r) {
  if (r.chance(0.6)) {
    d.paragraph(c.name + " is not currently known to children's social care. " + c.p.Subject +
                " has no identified social care needs at this time.");
    return;
  }
  d.paragraph(c.name +
              "'s family receive a short breaks package following a child in need "
              "assessment. " +
              c.name + " needs an adult with " + c.p.object + " to stay safe in the community.");
}

// Outcomes and provision are drawn from pools per area of need, the child's primary need first.
struct OutcomeWording {
  const char* action;   // "will ..." with {p} for the possessive pronoun
  const char* untimed;  // the same aim with no time frame (at least five words with the name)
};
const std::array<std::vector<OutcomeWording>, 4>& outcomePool() {
  static const std::array<std::vector<OutcomeWording>, 4> kPool = {{
      {{"ask an adult for help using a sentence of four or more words in three lessons a day",
        "improve {p} communication skills"},
       {"follow a visual timetable to move between activities with one adult prompt",
        "follow a visual timetable to move between activities"}},
      {{"read and understand a short text at {p} level and answer three questions about it",
        "improve {p} reading and comprehension"},
       {"add and subtract numbers to 20 without counters", "get better at maths in class"}},
      {{"name two feelings and choose a calming strategy from a choice of three",
        "manage {p} emotions better in school"},
       {"take part in a structured lunchtime club with two peers on three days a week",
        "make more friends at school"}},
      {{"write a sentence of eight words legibly using a sloped board",
        "develop {p} handwriting and presentation"},
       {"stay in assembly for ten minutes wearing ear defenders",
        "cope better with noise in school"}},
  }};
  return kPool;
}

struct ProvisionRow {
  const char* provision;
  const char* frequency;
  const char* by;
};
const std::array<std::vector<ProvisionRow>, 4>& provisionPool() {
  static const std::array<std::vector<ProvisionRow>, 4> kPool = {{
      {{"Individual speech and language therapy on understanding spoken language",
        "30 minutes, once a week, 36 weeks a year", "Speech and language therapist"},
       {"Therapy programme set by the speech and language therapist", "15 minutes, 4 times a week",
        "Teaching assistant trained by the therapist"},
       {"Social communication group (Lego therapy) of three pupils", "40 minutes, twice a week",
        "Trained teaching assistant"}},
      {{"Phonics teaching in a group of no more than four pupils", "20 minutes daily",
        "Teacher with phonics training"},
       {"Precision teaching of high-frequency words", "10 minutes, 3 times a week",
        "Teaching assistant"},
       {"One-to-one numeracy intervention", "30 minutes, twice a week, for two terms",
        "Teaching assistant supervised by the SENCO"}},
      {{"Emotional literacy (ELSA) sessions",
        "30 minutes, once a week, for two terms, then reviewed", "Trained ELSA"},
       {"Check-in with a named key adult", "10 minutes at the start and end of each day",
        "Key adult"},
       {"Zones of regulation teaching", "20 minutes, once a week, in class", "Class teacher"}},
      {{"Sensory circuit set by the occupational therapist",
        "10 minutes at the start of each school day", "Teaching assistant"},
       {"Fine motor skills programme", "15 minutes, 3 times a week",
        "Teaching assistant trained by the occupational therapist"},
       {"Ear defenders and a workstation away from the door", "In every lesson", "Class teacher"}},
  }};
  return kPool;
}

constexpr std::array<const char*, 4> kAreaNames = {
    "Communication and interaction", "Cognition and learning",
    "Social, emotional and mental health", "Sensory and physical"};

std::string withPossessive(std::string text, const char* possessive) {
  for (std::size_t at = text.find("{p}"); at != std::string::npos; at = text.find("{p}")) {
    text.replace(at, 3, possessive);
  }
  return text;
}

// Outcomes: each has a time frame unless the plan was given that flaw.
void writeSectionE(WordDocument& d, const Plan& c, const PlanFlaws& flaws, bool as_table,
                   int outcome_year, Random& r) {
  const std::string next_year = yearName(std::min(outcome_year, 14));
  const std::string july = "July " + std::to_string(yearOf(c.finalised) + 1);
  const std::array<std::string, 4> frames = {"By the end of " + next_year, "By " + july,
                                             "Within 12 months", "Within two terms"};
  // Two outcomes for the primary need, one for another area.
  const int other = (c.need + 1 + r.below(3)) % 4;
  const auto& pool = outcomePool();
  const std::array<const OutcomeWording*, 3> chosen = {&pool[c.need][0], &pool[c.need][1],
                                                       &pool[other][r.below(2)]};
  d.paragraph("The outcomes below were agreed with " + c.name + " and " + c.p.possessive +
              " family at the planning meeting.");
  const int untimed = flaws.outcomes_without_time_frame;
  std::vector<std::vector<std::string>> rows = {{"Outcome", "By when"}};
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const bool flawed = static_cast<int>(i) < untimed;
    const std::string frame = frames[static_cast<std::size_t>(r.below(4))];
    const std::string body =
        c.name + " will " +
        withPossessive(flawed ? chosen[i]->untimed : chosen[i]->action, c.p.possessive) + ".";
    if (as_table) {
      rows.push_back({body, flawed ? "Ongoing" : frame});
    } else {
      d.paragraph(flawed ? body : frame + ", " + body);
    }
  }
  if (as_table) d.table(std::move(rows));
  if (c.year_group >= 9 && !flaws.pfa_missing) {
    d.heading("Preparing for adulthood", 2, HeadingLook::kBold);
    d.paragraph("By " + july + ", " + c.name +
                " will complete a one-week work experience placement as a step towards "
                "employment, with a plan agreed with the careers adviser.");
    d.paragraph("By the end of " + next_year + ", " + c.name +
                " will travel to the local shop and buy two items independently, as part of "
                "preparing for adulthood (independent living).");
  }
}

void writeSectionF(WordDocument& d, const Plan& c, const std::vector<int>& vague_picks, Random& r) {
  d.paragraph("The provision below is to be delivered by " + c.setting +
              " unless another provider is named.");
  std::vector<std::vector<std::string>> rows = {
      {"Area of need", "Provision", "Frequency and duration", "Delivered by"}};
  for (int k = 0; k < 4; ++k) {
    const int area = (c.need + k) % 4;
    const auto& pool = provisionPool()[static_cast<std::size_t>(area)];
    const int count = k == 0 ? 2 : r.below(2);  // the primary need always has two rows
    const int first = r.below(3);
    for (int i = 0; i < count; ++i) {
      const ProvisionRow& row = pool[static_cast<std::size_t>((first + i) % 3)];
      rows.push_back(
          {kAreaNames[static_cast<std::size_t>(area)], row.provision, row.frequency, row.by});
    }
  }
  if (c.year_group >= 9) {
    rows.push_back({"Preparing for adulthood", "Careers guidance meeting",
                    "45 minutes, once a term", "Careers adviser"});
  }
  d.table(std::move(rows));
  d.paragraph(c.name +
              " will have a named adult for 15 minutes at the start and end of each day "
              "to go through " +
              c.p.possessive + " visual timetable.");
  d.paragraph("Staff working with " + c.name +
              " will complete autism awareness training by the "
              "end of the first term of this plan.");
  for (int pick : vague_picks) {
    d.paragraph(withName(vagueSentences()[static_cast<std::size_t>(pick)].text, c.name));
  }
}

void writeSectionG(WordDocument& d) {
  d.paragraph("Review by the community paediatrician once a year at the child development centre.");
  d.paragraph(
      "Physiotherapy programme of 20 minutes daily, delivered by a trained teaching "
      "assistant and reviewed by the physiotherapist every 12 weeks.");
}

void writeSectionH(WordDocument& d, const Plan& c, Random& r, const HeadingStyle& style,
                   const PlanFlaws& flaws) {
  if (r.chance(0.3) && flaws.unlabelled_section != 'H') {
    d.heading(style.variant < 2 ? "Section H1: Social care provision under section 2 of the "
                                  "Chronically Sick and Disabled Persons Act 1970"
                                : "H1: Social care provision under section 2 of the CSDPA 1970",
              2, style.look == HeadingLook::kTableCell ? HeadingLook::kBold : style.look);
  }
  d.paragraph(
      "Short breaks: one overnight stay a month at the local short breaks centre, "
      "arranged by the children with disabilities team.");
}

void writeSectionI(WordDocument& d, const Plan& c) { d.paragraph(c.setting + "."); }

void writeSectionJ(WordDocument& d, const Plan& c, Random& r) {
  if (r.chance(0.8)) {
    d.paragraph("No personal budget has been requested.");
  } else {
    d.paragraph(
        "A personal budget of \xC2\xA3"
        "1,200 a year is agreed for " +
        c.name + "'s family to arrange holiday activities.");
  }
}

void writeSectionK(WordDocument& d, const Plan& c, bool state_request) {
  if (state_request) {
    d.paragraph("Advice was requested on " + longDate(c.request_for_advice) + ".");
  }
  std::vector<std::vector<std::string>> rows = {{"Advice and information", "Provided by", "Date"}};
  for (const Advice& a : c.advice) {
    rows.push_back({a.type, a.author > 0 ? id(a.author_prefix, a.author) : c.name + "'s parents",
                    slashDate(a.date)});
  }
  d.table(std::move(rows));
}

WordDocument adviceDocument(const Plan& c, const Advice& a) {
  WordDocument d;
  d.title = std::string(a.type) + " for " + c.plan_ref;
  d.heading(std::string(a.type), 0, HeadingLook::kStyle);
  d.paragraph("Child: " + c.name + " (" + c.plan_ref + "), " + yearName(c.year_group) + ", " +
              c.setting + ".");
  d.paragraph("Advice requested: " + longDate(c.request_for_advice) + ". Advice given: " +
              longDate(a.date) + ". Author: " + id(a.author_prefix, a.author) + ".");
  d.heading("What I found", 1, HeadingLook::kStyle);
  d.paragraph("I met " + c.name + " in school and spoke with " + c.p.possessive +
              " parents and class teacher. " + c.p.Subject +
              " engaged well with structured tasks when given visual prompts.");
  d.heading("Recommendations", 1, HeadingLook::kStyle);
  d.paragraph(
      "Individual sessions of 30 minutes a week for one year, delivered by a specialist, "
      "with progress reviewed each term.");
  return d;
}

WordDocument annualReviewDocument(const Plan& c, Date meeting) {
  WordDocument d;
  d.title = "Annual review " + c.plan_ref;
  d.heading("Annual review of the EHC plan " + c.plan_ref, 0, HeadingLook::kStyle);
  d.paragraph("Review meeting held on " + longDate(meeting) + " at " + c.setting + ".");
  d.paragraph("Present: " + c.name + "'s parents, " + c.caseworker + ", the SENCO, " +
              id("ep", 10 + static_cast<int>(c.name.size())) + ".");
  d.heading("Progress towards outcomes", 1, HeadingLook::kStyle);
  d.table(
      {{"Outcome", "Progress"},
       {"Visual timetable", "Achieved: " + c.name + " moves between activities with one prompt."},
       {"Reading", "Partly achieved: reads short texts and answers two questions."},
       {"Feelings", "Not yet achieved: names feelings with an adult's help."}});
  d.heading("Recommendation", 1, HeadingLook::kStyle);
  d.paragraph("Maintain the plan, with amendments to sections B, E and F.");
  return d;
}

}  // namespace

const std::vector<std::string>& localities() { return kLocalities; }

SyntheticPlan generatePlan(std::uint64_t seed, int index, const PlanOptions& options) {
  Random r(seed * 0x100000001B3ull ^
           (static_cast<std::uint64_t>(index) + 1) * 0x9E3779B97F4A7C15ull);
  r.next();
  const FlawRates& rates = options.rates;
  SyntheticPlan out;
  PlanFlaws& flaws = out.flaws;
  Plan c;

  // Who and where.
  c.name = r.pick(kFirstNames);
  const int pronoun = r.below(10);
  c.p = pronoun < 5 ? kShe : (pronoun < 9 ? kHe : kThey);
  c.year_group = r.between(0, 14);
  c.setting = r.pick(c.year_group <= 6    ? kPrimarySettings
                     : c.year_group <= 11 ? kSecondarySettings
                                          : kPost16Settings);
  c.locality = r.pick(kLocalities);
  c.caseworker = id("cw", r.between(1, 40));
  c.interest1 = r.pick(kInterests);
  do {
    c.interest2 = r.pick(kInterests);
  } while (c.interest2 == c.interest1);
  c.need = r.below(4);

  // The flaws, drawn independently.
  static constexpr std::array<char, 7> kMissable = {'B', 'C', 'D', 'G', 'H', 'I', 'J'};
  if (r.chance(rates.missing_section)) flaws.missing_section = kMissable[r.below(7)];
  if (r.chance(rates.unlabelled_section)) {
    do {
      flaws.unlabelled_section = static_cast<char>('A' + r.below(11));
    } while (flaws.unlabelled_section == flaws.missing_section);
  }
  std::vector<int> vague_picks;
  if (r.chance(rates.vague_provision)) {
    const int count = r.between(1, 3);
    const int n = static_cast<int>(vagueSentences().size());
    int pick = r.below(n);
    for (int i = 0; i < count; ++i) {
      vague_picks.push_back((pick + i * 4) % n);
      for (const auto& phrase :
           vagueSentences()[static_cast<std::size_t>(vague_picks.back())].phrases) {
        flaws.vague_phrases.push_back(phrase);
      }
    }
  }
  if (r.chance(rates.outcome_no_time_frame)) flaws.outcomes_without_time_frame = r.between(1, 2);
  const bool pfa_draw = r.chance(rates.missing_pfa);
  flaws.pfa_missing = c.year_group >= 9 && pfa_draw;
  const bool advice_draw = r.chance(rates.advice_outside_window);
  flaws.final_late = r.chance(rates.final_late);

  // Dates, counted back from the options' day so that the library never depends on the clock.
  const Date anchor = options.as_of;
  // Final plans spread evenly over the three years before the anchor (the most recent ten days
  // before it), so a monthly audit of "plans finalised in the last 12 weeks" finds some; the
  // request comes the plan's 20-week (or late) span before that.
  const Date finalised = anchor - std::chrono::days(r.between(10, 1100));
  c.request =
      finalised - std::chrono::days(flaws.final_late ? r.between(141, 260) : r.between(98, 140));
  c.request_for_advice = c.request + std::chrono::days(r.between(21, 42));
  c.finalised = finalised;
  char ref[32];
  std::snprintf(ref, sizeof ref, "SF-%04d-%05d", yearOf(c.finalised), index + 1);
  c.plan_ref = ref;

  c.advice = {
      {"Parent and carer views", "", "pc", 0,
       c.request_for_advice + std::chrono::days(r.between(3, 30)), false},
      {"Educational psychology advice", "EP advice", "ep", r.between(1, 60),
       c.request_for_advice + std::chrono::days(r.between(10, 40)), true},
      {"Health advice", "Health advice", "hv", r.between(1, 60),
       c.request_for_advice + std::chrono::days(r.between(5, 40)), true},
      {"Social care advice", "Social care advice", "sw", r.between(1, 60),
       c.request_for_advice + std::chrono::days(r.between(5, 40)), true},
      {"Education advice", "", "sc", r.between(1, 60),
       c.request_for_advice + std::chrono::days(r.between(5, 35)), false},
  };
  if (advice_draw) {
    Advice& late = c.advice[static_cast<std::size_t>(r.between(1, 3))];
    // Outside the window whether it is measured from the request for advice stated in section K
    // or, when section K does not state it, from the decision to assess (6 weeks after the
    // request).
    const Date assumed = c.request + std::chrono::days(42);
    late.date =
        r.chance(0.7)
            ? std::max(c.request_for_advice, assumed) + std::chrono::days(r.between(50, 90))
            : std::min(c.request_for_advice, assumed) - std::chrono::days(r.between(60, 200));
    flaws.advice_outside_window = 1;
  }

  // The plan.
  HeadingStyle style;
  style.variant = r.below(4);
  const int look = r.below(10);
  style.look =
      look < 6 ? HeadingLook::kStyle : (look < 9 ? HeadingLook::kBold : HeadingLook::kTableCell);
  SyntheticDocument& plan = out.plan;
  plan.folder = "EHC Plans";
  plan.odt = r.chance(options.odt_share);
  plan.file_name = c.plan_ref + (plan.odt ? ".odt" : ".docx");
  WordDocument& d = plan.content;
  d.title = "Education, Health and Care Plan " + c.plan_ref;
  d.heading("Education, Health and Care Plan", 0, HeadingLook::kStyle);
  d.paragraph("Plan reference: " + c.plan_ref + ". Child or young person: " + c.name + ".");
  d.paragraph("Date of request for assessment: " + longDate(c.request) +
              ". Date plan finalised: " + longDate(c.finalised) + ".");
  const bool outcomes_as_table = r.chance(0.3);
  const bool state_request = r.chance(0.85);
  for (int s = 0; s < 11; ++s) {
    const char letter = static_cast<char>('A' + s);
    if (flaws.missing_section == letter) continue;
    sectionHeading(d, s, style, flaws);
    switch (letter) {
      case 'A':
        writeSectionA(d, c, r);
        break;
      case 'B':
        writeSectionB(d, c);
        break;
      case 'C':
        writeSectionC(d, c, r);
        break;
      case 'D':
        writeSectionD(d, c, r);
        break;
      case 'E':
        writeSectionE(d, c, flaws, outcomes_as_table, c.year_group + 1, r);
        break;
      case 'F':
        writeSectionF(d, c, vague_picks, r);
        break;
      case 'G':
        writeSectionG(d);
        break;
      case 'H':
        writeSectionH(d, c, r, style, flaws);
        break;
      case 'I':
        writeSectionI(d, c);
        break;
      case 'J':
        writeSectionJ(d, c, r);
        break;
      case 'K':
        writeSectionK(d, c, state_request);
        break;
    }
  }

  std::vector<std::string> contributors;
  for (const Advice& a : c.advice) {
    if (a.author > 0) contributors.push_back(id(a.author_prefix, a.author));
  }
  plan.metadata = {
      c.locality,   iso(c.finalised), iso(c.request), iso(c.finalised + std::chrono::days(365)),
      c.caseworker, contributors,     c.year_group,   c.setting,
      "EHC plan",   c.plan_ref};

  if (!options.related_documents) return out;
  for (const Advice& a : c.advice) {
    if (!a.in_library) continue;
    SyntheticDocument doc;
    doc.folder = "Advice";
    doc.odt = plan.odt;
    doc.file_name = c.plan_ref + " " + a.document_type + (doc.odt ? ".odt" : ".docx");
    doc.content = adviceDocument(c, a);
    doc.metadata = {c.locality,   iso(a.date),  iso(c.request_for_advice),
                    "",           c.caseworker, {id(a.author_prefix, a.author)},
                    c.year_group, c.setting,    a.document_type,
                    c.plan_ref};
    out.related.push_back(std::move(doc));
  }
  const Date meeting = c.finalised + std::chrono::days(r.between(300, 360));
  if (meeting <= anchor) {
    SyntheticDocument doc;
    doc.folder = "Annual Reviews";
    doc.odt = plan.odt;
    doc.file_name = c.plan_ref + " annual review" + (doc.odt ? ".odt" : ".docx");
    doc.content = annualReviewDocument(c, meeting);
    doc.metadata = {c.locality,
                    iso(meeting + std::chrono::days(r.between(7, 28))),
                    iso(c.request),
                    iso(meeting + std::chrono::days(365)),
                    c.caseworker,
                    contributors,
                    std::min(c.year_group + 1, 14),
                    c.setting,
                    "Annual review",
                    c.plan_ref};
    out.related.push_back(std::move(doc));
  }
  return out;
}

}  // namespace sendflow::sampledata
