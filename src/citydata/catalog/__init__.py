"""The local catalog, in OpenMetadata's entity vocabulary, as one JSON document the portal reads.

Shape (``catalogVersion`` 1)::

    {
      "catalogVersion": 1, "generatedAt": "2026-…+00:00",
      "services": [{"name": "kafka"|"departments"|"warehouse", "type", "serviceType", …}],
      "teams":    [{"id", "name", "displayName", "description", "teamType": "Department"}],
      "tables":   [Table entity …],   # department sources, raw tables, dbt models and seeds
      "topics":   [Topic entity …],   # one Kafka topic per source table
      "lineage":  {"edges": [{"fromEntity": EntityReference, "toEntity": EntityReference,
                              "lineageDetails": {"source": "PipelineLineage"|"DbtLineage",
                                                 "columnsLineage": [{"fromColumns": [column FQN],
                                                                     "toColumn": column FQN}]}}]},
      "quality":  {"passed": bool|None, "checkedTables", "failedTables", "unmatchedTables"}
    }

A table entity has OpenMetadata's ``id``, ``name``, ``fullyQualifiedName``, ``displayName``,
``description``, ``tableType``, ``service``, ``database``, ``databaseSchema``, ``columns`` (each a
valid OM ``Column``: ``name``, ``dataType``, ``dataTypeDisplay``, ``tags``, …), ``owners``
(``[{"type": "team", "name", …}]``), ``tags`` (``Layer.<layer>``, ``BaseLibrary.<lib>``, the data
grade ``DataGrade.L1``…``L4`` of its most sensitive column; columns carry ``DataClassification.<c>``,
``DataGrade.L<n>`` and ``PII.Sensitive``), descriptions in Chinese then English (``中文\n\nEnglish``),
``profile.rowCount``, and citydata's own properties under ``extension``: ``layer``
(source/topic/raw/staging/intermediate/mart/seed), ``department``, ``baseLibrary``, ``connector``,
``gate`` (``{"passed", "expectations", "unexpectedTotal"}``).

FQNs: ``departments.<connector>.<schema>.<table>``, ``kafka."<source>.<schema>.<table>"``
(OpenMetadata quotes names containing dots), ``warehouse.citydata.<schema>.<table>``; a column's FQN
adds its name (a topic field its path: ``kafka."…".after.<column>``).

Publishing to an OpenMetadata server: :func:`publish_catalog` (``om_requests`` builds the requests as
openmetadata-ingestion's generated models, ``om_publish`` sends them, ``om_state`` remembers).
"""

from citydata.catalog.build import build_catalog
from citydata.catalog.lineage import column_lineage, lineage
from citydata.catalog.om_publish import publish_catalog
from citydata.catalog.store import (
    UnknownEntityError,
    all_entities,
    get_entity,
    package_name,
    read_catalog,
    write_catalog,
)

__all__ = ["UnknownEntityError", "all_entities", "build_catalog", "column_lineage", "get_entity", "lineage",
           "package_name", "publish_catalog", "read_catalog", "write_catalog"]
