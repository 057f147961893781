import gzip, os
import sys
base=sys.argv[1] if len(sys.argv) > 1 else '/tmp/wasnaker-big'
root=f'{base}/landing/inspection/2026-10-03'
os.makedirs(root, exist_ok=True)
def w(name, text):
    with gzip.open(f'{root}/{name}','wt',compresslevel=1) as f: f.write(text)
w('companies.csv.gz', "company_id,nib,name,province_code,regency_code,kbli_section,size_class,workers_total,wlkp_registered,updated_at\nCMP-0000001,,PT A,31,,,MIKRO,,false,2026-10-01T09:00:00+07:00\n")
w('inspectors.csv.gz', "inspector_id,nip,name,province_code,rank,is_ppns,active,updated_at\nINS-00001,199001012020011001,X Y,31,MUDA,false,true,2026-09-01T08:00:00+07:00\n")
w('complaint_events.csv.gz', "event_id,complaint_id,event_at,status,inspector_id\n")
w('inspections.csv.gz', "inspection_id,company_id,inspector_id,visit_date,inspection_type,complaint_id,findings,outcome\n")
desc = ("Pekerja belum menerima upah lembur selama tiga bulan " * 40)[:2000]
with gzip.open(f'{root}/complaints.csv.gz','wt',compresslevel=1) as f:
    f.write("complaint_id,received_at,channel,reporter_type,union_name,complainant_name,complainant_nik,complainant_phone,company_id,province_code,violation_code,workers_affected,description,updated_at\n")
    for i in range(1_000_000):
        f.write(f"ADU-2026-{i:07d},2026-10-02T09:00:00+07:00,ONLINE,WORKER,,Nama Sintetis,99{i:014d},+62 800 {i:07d},CMP-0000001,31,LEMBUR,3,\"{desc}\",2026-10-02T09:00:00+07:00\n")
open(f'{root}/_DONE','w').close()
print(os.path.getsize(f'{root}/complaints.csv.gz'))
