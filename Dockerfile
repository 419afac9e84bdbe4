# The citydata image: the package and its locked dependencies (used by docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
RUN pip install --no-cache-dir --no-deps -e .
CMD ["citydata", "--help"]
