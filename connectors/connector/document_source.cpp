#include "connectors/connector/document_source.h"

#include <Poco/TemporaryFile.h>

#include <cstdio>
#include <fstream>

namespace sendflow::connectors {

core::StatusOr<std::unique_ptr<std::istream>> openContent(DocumentSource& source, const Item& item,
                                                          const std::string& spool_dir) {
  const std::string spool = Poco::TemporaryFile::tempName(spool_dir);
  SENDFLOW_RETURN_IF_ERROR(source.download(item, spool));
  auto stream = std::make_unique<std::ifstream>(spool, std::ios::binary);
  std::remove(spool.c_str());  // the open stream keeps the data until it is destroyed
  if (!*stream) return core::internalError(item.path + ": cannot open the spooled copy " + spool);
  return std::unique_ptr<std::istream>(std::move(stream));
}

}  // namespace sendflow::connectors
