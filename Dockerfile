# The hotline service image: the same package `make install` builds, started with `hotline serve`.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml constraints.txt README.md ./
COPY hotline ./hotline
COPY routing ./routing
COPY knowledge_base ./knowledge_base
COPY web ./web
RUN pip install --no-cache-dir -c constraints.txt .
EXPOSE 8000 2525
CMD ["hotline", "serve", "--host", "0.0.0.0", "--port", "8000"]
