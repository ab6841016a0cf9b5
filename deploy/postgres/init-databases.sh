#!/bin/bash
# Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d/).
# One login role and one database per service, named alike (minato_<service>), each role owning its
# database only: a service cannot query another's. Passwords come from MINATO_DB_PASSWORD_<service>.
set -euo pipefail
for service in ${MINATO_SERVICES:?list the services, e.g. "gateway trades"}; do
  name="minato_${service}"
  password_var="MINATO_DB_PASSWORD_${service}"
  password="${!password_var:?${password_var} is not set}"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v name="$name" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
  echo "init-databases: created role and database ${name}"
done
