mod queries;
