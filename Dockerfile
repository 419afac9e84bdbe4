# The citydata image: the package and its locked dependencies, Airflow included (used by docker-compose.yml
# for the connectors, the portal and Airflow's api-server, scheduler and dag-processor).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
RUN pip install --no-cache-dir --no-deps -e .
# The dbt manifest the build DAG lays out its per-model tasks from: made here, never at DAG parse time.
RUN CITYDATA_WAREHOUSE_PATH=/tmp/parse.duckdb dbt parse --project-dir dbt_project --profiles-dir dbt_project \
    --quiet && rm -rf /tmp/parse.duckdb dbt_project/logs
CMD ["citydata", "--help"]
