FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY application ./application
COPY projections ./projections
COPY interfaces ./interfaces
COPY migrations ./migrations
RUN pip install --no-cache-dir . && useradd --system worksync
USER worksync
EXPOSE 8000
CMD ["worksync", "serve", "--host", "0.0.0.0", "--no-projector"]
